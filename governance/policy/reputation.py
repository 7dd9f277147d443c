"""Reputation (layer-2 identity): a score in [0, 1] per node, and the access tier it grants.

Formula, per cycle of length ``dt = observations.interval_s``:

    tenure   = min(1, (now - joined_at) / tenure_full_s)          # accrues, saturates
    jobs     = (succeeded + 1) / (succeeded + failed + 2)         # Laplace-smoothed success rate
    sla      = 1 - min(1, sla_violations / max(1, succeeded + failed))
    quality  = (w_up * uptime_fraction + w_jobs * jobs + w_sla * sla) / (w_up + w_jobs + w_sla)
    evidence = tenure * quality
    alpha    = 1 - exp(-dt / gain_tau_s) if evidence >= score     # slow gain
               1 - exp(-dt / loss_tau_s) otherwise                # fast loss (loss_tau < gain_tau)
    score    = score + alpha * (evidence - score)                 # exponential decay to evidence
    lying    = any resource with reported / observed - 1 > lie_tolerance
    score    = score * (1 - lie_penalty) if lying                 # cut at once

A new key starts at ``initial`` (0) with zero tenure, so dropping a bad key and rejoining never
helps.

Tiers: TRUSTED if score >= trusted_reputation and tenure >= trusted_tenure_s; ESTABLISHED if score
>=
established_reputation and tenure >= established_tenure_s, or if the node stakes at least
``stake_gwei_for_established`` or pays for access; NEWCOMER otherwise. A newcomer may hand out only
``newcomer_capacity_fraction`` of its capacity, hold at most ``newcomer_max_replicas`` replicas and
take
only services of criticality <= ``newcomer_max_criticality``. With reputation disabled (the
Kubernetes
baseline) scores are left untouched and every node counts as ESTABLISHED.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from governance.policy.reputation_kernel import (
    ESTABLISHED_REP,
    ESTABLISHED_TENURE,
    GAIN,
    INV_TENURE_FULL,
    KEEP_AFTER_LIE,
    LOSS,
    N_CONSTANTS,
    NEG_W_SLA,
    TRUSTED_REP,
    TRUSTED_TENURE,
    W_JOBS,
    W_SLA,
    W_UPTIME,
    lying_rows_loop,
    reputation_in_place_loop,
    reputation_loop,
)
from governance.policy.results import ReputationUpdate
from governance.policy.types import F32, N_RESOURCES, Bool, NodeTable, Observations, Tier

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams, ReputationParams, TierParams


CHUNK = 1 << 16  # rows per slice of the dense lie check (its temporaries stay in cache)


def update_reputation(
    nodes: NodeTable,
    observations: Observations | None,
    params: PolicyParams,
    now_s: float,
    *,
    donate: bool = False,
) -> ReputationUpdate:
    """Return new scores and tiers for every node (O(n), float32, one compiled pass).

    ``donate=True`` gives the ``reputation`` and ``tier`` columns to the call: the new values are
    written over them (at 1e7 nodes, fresh 50 MB outputs cost their first-touch page faults).
    """
    n = nodes.size
    if not params.reputation.enabled:
        return ReputationUpdate(
            reputation=nodes.reputation,
            tier=np.full(n, Tier.ESTABLISHED, dtype=np.int8),
            lying=np.zeros(n, dtype=bool),
        )
    in_place = donate and _writable(nodes.reputation, _F32) and _writable(nodes.tier, _I8)
    score = nodes.reputation if in_place else np.empty(n, dtype=np.float32)
    tier = nodes.tier if in_place else np.empty(n, dtype=np.int8)
    lying = np.zeros(n, dtype=bool)
    observed = observations is not None and observations.interval_s > 0
    obs = observations if observations is not None else _no_observations()
    if obs.observed_rows is not None:  # probes flag liars even in a cycle of zero length
        _lying_rows(obs, params.reputation.lie_tolerance, lying)
    elif observed:
        for lo in range(0, n, CHUNK):
            part = slice(lo, min(n, lo + CHUNK))
            lying[part] = _lying(obs, params.reputation.lie_tolerance, part)
    rows = (
        float(now_s),
        nodes.joined_at_s,
        nodes.reputation,
        nodes.stake_gwei,
        params.tiers.stake_gwei_for_established,
        nodes.paid_access,
        observed,
        obs.uptime_fraction,
        obs.jobs_succeeded,
        obs.jobs_failed,
        obs.sla_violations,
        lying,
        _constants(params, obs.interval_s if observed else 0.0),
    )
    if in_place:
        reputation_in_place_loop(*rows, tier)
    else:
        reputation_loop(*rows, score, tier)
    return ReputationUpdate(reputation=score, tier=tier, lying=lying)


_F32, _I8 = np.dtype(np.float32), np.dtype(np.int8)


def _writable(column: np.ndarray, dtype: np.dtype) -> bool:
    """A column the compiled pass can write in place: its dtype, contiguous, writeable."""
    flags = column.flags  # a new flags object per access
    return bool(column.dtype == dtype and flags.c_contiguous and flags.writeable)


def _constants(params: PolicyParams, interval_s: float) -> F32:
    """The formula's float32 constants, rounded from float64 exactly as the formula states."""
    return _constants_of(params.reputation, params.tiers, interval_s)


@functools.lru_cache(maxsize=16)
def _constants_of(rp: ReputationParams, tp: TierParams, interval_s: float) -> F32:
    """`_constants`, built once per parameter set and interval (read-only)."""
    wsum = rp.weight_uptime + rp.weight_jobs + rp.weight_sla
    c = np.zeros(N_CONSTANTS, dtype=np.float32)
    c[W_UPTIME] = rp.weight_uptime / wsum
    c[W_JOBS] = rp.weight_jobs / wsum
    c[W_SLA] = rp.weight_sla / wsum
    c[NEG_W_SLA] = -rp.weight_sla / wsum
    if interval_s > 0:
        c[GAIN] = 1.0 - math.exp(-interval_s / rp.gain_tau_s)
        c[LOSS] = 1.0 - math.exp(-interval_s / rp.loss_tau_s)
    c[INV_TENURE_FULL] = 1.0 / rp.tenure_full_s
    c[KEEP_AFTER_LIE] = 1.0 - rp.lie_penalty
    c[ESTABLISHED_REP] = tp.established_reputation
    c[ESTABLISHED_TENURE] = tp.established_tenure_s
    c[TRUSTED_REP] = tp.trusted_reputation
    c[TRUSTED_TENURE] = tp.trusted_tenure_s
    c.flags.writeable = False
    return c


def _no_observations() -> Observations:
    """Empty observation columns (the loop reads none of them without observations)."""
    none_f = np.zeros(0, dtype=np.float32)
    none_i = np.zeros(0, dtype=np.int32)
    return Observations(
        interval_s=0.0,
        uptime_fraction=none_f,
        jobs_succeeded=none_i,
        jobs_failed=none_i,
        sla_violations=none_i,
        reported_capacity=np.zeros((0, N_RESOURCES), dtype=np.float32),
        observed_capacity=np.zeros((0, N_RESOURCES), dtype=np.float32),
    )


def _lying(obs: Observations, tolerance: float, part: slice) -> Bool:
    """Any resource reported more than ``tolerance`` above what probes observed (NaN: unprobed)."""
    # NaN (unprobed) compares False, so an unprobed resource never counts as a lie.
    flags = obs.reported_capacity[part] > obs.observed_capacity[part] * np.float32(1.0 + tolerance)
    out: Bool = flags[:, 0].copy()
    for r in range(1, flags.shape[1]):  # column ORs: any(axis=1) is slow on 3 columns
        out |= flags[:, r]
    return out


def _lying_rows(obs: Observations, tolerance: float, out: Bool) -> None:
    """`_lying` for sparse probes: flag the probed rows that lie in ``out`` (one compiled pass)."""
    rows = obs.observed_rows
    if rows is None or rows.size == 0:
        return
    factor = np.float32(1.0 + tolerance)
    lying_rows_loop(rows, obs.reported_capacity, obs.observed_capacity, factor, out)
