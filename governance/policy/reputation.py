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

import math
from typing import TYPE_CHECKING

import numpy as np

from governance.policy.results import ReputationUpdate
from governance.policy.types import F32, I8, Bool, NodeTable, Observations, Tier

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


CHUNK = 1 << 16  # rows per slice: every temporary stays in cache, memory is read about once
# numpy's minimum/maximum against a scalar are ~6x slower than against an array: clamp with these.
_ZEROS = np.zeros(CHUNK, dtype=np.float32)
_ONES = np.ones(CHUNK, dtype=np.float32)
_ZEROS.flags.writeable = False
_ONES.flags.writeable = False


def update_reputation(
    nodes: NodeTable, observations: Observations | None, params: PolicyParams, now_s: float
) -> ReputationUpdate:
    """Return new scores and tiers for every node (O(n), float32, in cache-sized slices)."""
    n = nodes.size
    if not params.reputation.enabled:
        return ReputationUpdate(
            reputation=nodes.reputation,
            tier=np.full(n, Tier.ESTABLISHED, dtype=np.int8),
            lying=np.zeros(n, dtype=bool),
        )
    score = np.empty(n, dtype=np.float32)
    tier = np.empty(n, dtype=np.int8)
    lying = np.zeros(n, dtype=bool)
    sparse = observations is not None and observations.observed_rows is not None
    if sparse and observations is not None:
        _lying_rows(observations, params.reputation.lie_tolerance, lying)
    for lo in range(0, n, CHUNK):
        part = slice(lo, min(n, lo + CHUNK))
        _update_slice(nodes, observations, params, now_s, part, score, tier, lying, sparse)
    return ReputationUpdate(reputation=score, tier=tier, lying=lying)


def _update_slice(
    nodes: NodeTable,
    obs: Observations | None,
    params: PolicyParams,
    now_s: float,
    part: slice,
    score_out: F32,
    tier_out: I8,
    lying_out: Bool,
    lying_known: bool = False,
) -> None:
    """The whole formula for the rows in ``part``, written into the output arrays.

    With ``lying_known`` the lie flags of ``part`` are already in ``lying_out`` (sparse probes).
    """
    rp = params.reputation
    # Subtract in float64 (epoch seconds need it), keep the difference as float32.
    tenure_s = (now_s - nodes.joined_at_s[part]).astype(np.float32)
    score = score_out[part]
    score[:] = nodes.reputation[part]
    if obs is not None and obs.interval_s > 0:
        evidence = _evidence(tenure_s, obs, params, part)
        gain = np.float32(1.0 - math.exp(-obs.interval_s / rp.gain_tau_s))
        loss = np.float32(1.0 - math.exp(-obs.interval_s / rp.loss_tau_s))
        evidence -= score  # now the step towards the evidence
        _scale_step(evidence, gain, loss)
        score += evidence
        if lying_known:
            lying = lying_out[part]
        else:
            lying = _lying(obs, rp.lie_tolerance, part)
            lying_out[part] = lying
        if lying.any():
            score[lying] *= np.float32(1.0 - rp.lie_penalty)
        _clamp01(score)
    tier_out[part] = tiers(nodes, score, tenure_s, params, part)


def _clamp01(x: F32) -> None:
    """``np.clip(x, 0, 1, out=x)`` (same values, NaN and -0.0 kept), against constant arrays."""
    np.maximum(_ZEROS[: x.shape[0]], x, out=x)  # this operand order keeps -0.0, as clip does
    np.minimum(x, _ONES[: x.shape[0]], out=x)


def _scale_step(step: F32, gain: np.float32, loss: np.float32) -> None:
    """``step *= where(step >= 0, gain, loss)`` in place, without a per-row select.

    For positive factors, rounding keeps ``e * a <= e * b`` when ``e >= 0`` and ``a <= b`` (and the
    reverse when ``e < 0``), so the wanted product is the smaller (``gain <= loss``) or the larger
    of the two; NaN stays NaN.
    """
    other = step * gain
    step *= loss
    if gain <= loss:
        np.minimum(other, step, out=step)
    else:
        np.maximum(other, step, out=step)


def _evidence(tenure_s: F32, obs: Observations, params: PolicyParams, part: slice) -> F32:
    """Tenure * weighted behaviour quality for the rows in ``part`` (float32, in place)."""
    rp = params.reputation
    f32 = np.float32
    wsum = rp.weight_uptime + rp.weight_jobs + rp.weight_sla
    ok = obs.jobs_succeeded[part].astype(f32)
    jobs = obs.jobs_failed[part].astype(f32)
    jobs += ok
    # job factor (ok + 1) / (jobs + 2), weighted, accumulated into `quality`
    ok += f32(1)
    denom = jobs + f32(2)
    ok /= denom
    quality = obs.uptime_fraction[part] * f32(rp.weight_uptime / wsum)
    ok *= f32(rp.weight_jobs / wsum)
    quality += ok
    # SLA factor 1 - min(1, violations / max(1, jobs)), reusing `denom`
    np.maximum(jobs, _ONES[: jobs.shape[0]], out=denom)
    sla = obs.sla_violations[part].astype(f32)
    sla /= denom
    np.minimum(sla, _ONES[: sla.shape[0]], out=sla)
    sla *= f32(-rp.weight_sla / wsum)
    sla += f32(rp.weight_sla / wsum)
    quality += sla
    tenure = tenure_s * f32(1.0 / rp.tenure_full_s)
    _clamp01(tenure)
    quality *= tenure
    return quality


def _lying(obs: Observations, tolerance: float, part: slice) -> Bool:
    """Any resource reported more than ``tolerance`` above what probes observed (NaN: unprobed)."""
    # NaN (unprobed) compares False, so an unprobed resource never counts as a lie.
    flags = obs.reported_capacity[part] > obs.observed_capacity[part] * np.float32(1.0 + tolerance)
    out: Bool = flags[:, 0].copy()
    for r in range(1, flags.shape[1]):  # column ORs: any(axis=1) is slow on 3 columns
        out |= flags[:, r]
    return out


def _lying_rows(obs: Observations, tolerance: float, out: Bool) -> None:
    """`_lying` for sparse probes: flag the probed rows that lie in ``out``."""
    rows = obs.observed_rows
    if rows is None or rows.size == 0:
        return
    reported = np.take(obs.reported_capacity, rows, axis=0)
    flags = reported > obs.observed_capacity * np.float32(1.0 + tolerance)
    lying = flags[:, 0].copy()
    for r in range(1, flags.shape[1]):  # column ORs: any(axis=1) is slow on 3 columns
        lying |= flags[:, r]
    out[rows] = lying


def tiers(
    nodes: NodeTable, score: F32, tenure_s: F32, params: PolicyParams, part: slice | None = None
) -> I8:
    """Tier per node (or per row of ``part``) from score, tenure, stake and paid access."""
    part = part if part is not None else slice(0, nodes.size)
    tp = params.tiers
    established = score >= np.float32(tp.established_reputation)
    established &= tenure_s >= np.float32(tp.established_tenure_s)
    established |= nodes.stake_gwei[part] >= tp.stake_gwei_for_established
    established |= nodes.paid_access[part]
    trusted = score >= np.float32(tp.trusted_reputation)
    trusted &= tenure_s >= np.float32(tp.trusted_tenure_s)
    trusted &= established  # trusted is a step above established, never instead of it
    out: I8 = established.view(np.int8) + trusted.view(np.int8)  # 0, 1 or 2 without a scatter
    return out
