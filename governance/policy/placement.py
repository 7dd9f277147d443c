"""Placement of pending replicas: exact greedy over a node index, or sampled best-of-k batches.

Both modes run the same filter and scorer plugins (`PolicyParams.placement`). Score of node n for
replica r = sum of weight * factor over the enabled scorers, each factor in [0, 1].

* exact: replicas in row order, each to its best feasible node given every earlier decision. Nodes
  are walked in order of an upper-bound key (the node-only part of the score), so a decision visits
  a
  handful of nodes, not all of them; the locality bonus is checked in the few domains where it
  applies.
* sampled: batches of replicas, ``sample_k`` candidates each, drawn uniformly from all nodes for
  small
  batches and from the top ``pool_factor * batch`` nodes by key for large ones; the best feasible
  candidate is committed optimistically, conflicts (capacity, quota, anti-affinity within the batch)
  are resolved in replica order and the losers retry with fresh samples for ``sample_rounds``
  rounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from governance.policy.results import PlacementPlan
from governance.policy.types import I32, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def place(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rng: np.random.Generator,
    *,
    mode: Literal["exact", "sampled"] | None = None,
    replicas: I32 | None = None,
    donate: bool = False,
) -> tuple[PlacementPlan, Snapshot]:
    """Place ``replicas`` (default: every pending replica of a service that is not held or unpaid).

    Returns the plan and the snapshot with the placements applied (nodes' usage and replica rows).
    """
    raise NotImplementedError
