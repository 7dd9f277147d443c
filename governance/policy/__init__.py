"""Pure governance policy core: columnar snapshots, params, ``now`` and an RNG in; decisions out.

This package is the single implementation of the network's policy: the FastAPI service and both
simulator engines call the same functions. It does no I/O, reads no clock and owns no global RNG
(enforced by import-linter). State is columnar numpy (see `types`): a `NodeTable`, a
`ServiceTable`, a `ReplicaTable` (one row per desired replica, ``node = -1`` while pending), the
per-service `EvictionHistory` and per-cycle `Observations`, gathered in a `Snapshot`.

Call sequence (what `run_cycle` does, and what drivers may call step by step)::

    params = PolicyParams()                         # or kubernetes_baseline(), or from a file
    snap = make_snapshot(make_nodes(...), make_services(...))
    result = run_cycle(snap, params, now_s, rng)    # rng: numpy.random.Generator, seeded by the
    driver
    result.plan.reputation                          # 1. update_reputation: new scores and tiers
    result.plan.evictions                           # 2. plan_evictions + apply_evictions
    result.plan.placements                          # 3. place: pending replicas -> nodes
    snap = result.snapshot                          # the state after the plan; feed it back next
    cycle

Every decision carries a machine-readable reason (`reasons`) and per-factor scores;
`explain_placement` answers "why not node X". Same inputs and the same seed give an identical plan.

At scale (1e6-1e7 nodes): pass ``donate=True`` when the previous snapshot is not needed any more
(no copies of the usage and replica columns); observations may be accumulated over several steps
and passed every k-th cycle with ``interval_s`` covering them (reputation's formula is written for
any interval); a cycle with no pending replicas does no placement work at all. `kubernetes_baseline`
gives the comparison policy in the same terms; `synthetic.synthetic_network` a seeded test network.
"""

from governance.policy.build import (
    make_history,
    make_nodes,
    make_observations,
    make_replicas,
    make_services,
    make_snapshot,
    recompute_usage,
    replicas_for,
    validate_snapshot,
)
from governance.policy.cycle import run_cycle
from governance.policy.eviction import apply_evictions, plan_evictions
from governance.policy.explain import explain_placement
from governance.policy.params import (
    EvictionParams,
    PlacementParams,
    PolicyParams,
    ReputationParams,
    TierParams,
    kubernetes_baseline,
)
from governance.policy.placement import place
from governance.policy.reasons import (
    EvictionOutcome,
    EvictionReason,
    FilterReason,
    PlacementReason,
)
from governance.policy.reputation import update_reputation
from governance.policy.results import (
    CyclePlan,
    CycleResult,
    EvictionDecision,
    EvictionPlan,
    PlacementDecision,
    PlacementExplanation,
    PlacementPlan,
    ReputationUpdate,
)
from governance.policy.types import (
    NO_NODE,
    NO_REGION,
    RESOURCE_NAMES,
    Criticality,
    EvictionHistory,
    NodeTable,
    Observations,
    PaymentStatus,
    ReplicaTable,
    ServiceKind,
    ServiceTable,
    Snapshot,
    SnapshotError,
    Tier,
)

__all__ = [
    "NO_NODE",
    "NO_REGION",
    "RESOURCE_NAMES",
    "Criticality",
    "CyclePlan",
    "CycleResult",
    "EvictionDecision",
    "EvictionHistory",
    "EvictionOutcome",
    "EvictionParams",
    "EvictionPlan",
    "EvictionReason",
    "FilterReason",
    "NodeTable",
    "Observations",
    "PaymentStatus",
    "PlacementDecision",
    "PlacementExplanation",
    "PlacementParams",
    "PlacementPlan",
    "PlacementReason",
    "PolicyParams",
    "ReplicaTable",
    "ReputationParams",
    "ReputationUpdate",
    "ServiceKind",
    "ServiceTable",
    "Snapshot",
    "SnapshotError",
    "Tier",
    "TierParams",
    "apply_evictions",
    "explain_placement",
    "kubernetes_baseline",
    "make_history",
    "make_nodes",
    "make_observations",
    "make_replicas",
    "make_services",
    "make_snapshot",
    "place",
    "plan_evictions",
    "recompute_usage",
    "replicas_for",
    "run_cycle",
    "update_reputation",
    "validate_snapshot",
]
