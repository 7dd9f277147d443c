"""Why not node X: each filter's verdict on a (replica, node) pair and the score gap to the best."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.policy.results import PlacementExplanation
from governance.policy.types import Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def explain_placement(
    snapshot: Snapshot, params: PolicyParams, now_s: float, replica: int, node: int
) -> PlacementExplanation:
    """Explain whether ``replica`` could go to ``node`` now, and its gap to the best node."""
    raise NotImplementedError
