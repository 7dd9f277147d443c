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

from typing import TYPE_CHECKING

from governance.policy.results import ReputationUpdate
from governance.policy.types import NodeTable, Observations

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def update_reputation(
    nodes: NodeTable, observations: Observations | None, params: PolicyParams, now_s: float
) -> ReputationUpdate:
    """Return new scores and tiers for every node (O(n), float32)."""
    raise NotImplementedError
