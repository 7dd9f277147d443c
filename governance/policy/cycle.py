"""One policy cycle: reputation -> eviction plan (budgets, notice, anti-flapping) -> placement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.results import CycleResult
from governance.policy.types import Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def run_cycle(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rng: np.random.Generator,
    *,
    donate: bool = False,
) -> CycleResult:
    """Run one cycle; the same call serves the network service and both simulator engines.

    With ``params.eviction.dry_run`` the returned snapshot is the input one and the plan says what
    would have happened. With ``donate=True`` the core may write into the input arrays (saves copies
    at 1e7 nodes; the caller must not use the input snapshot afterwards).
    """
    raise NotImplementedError
