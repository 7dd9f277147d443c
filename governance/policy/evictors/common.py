"""Helpers shared by eviction plugins: node masks lifted to replica rows."""

from __future__ import annotations

import numpy as np

from governance.policy.types import I64, Bool, Snapshot


def replicas_on(snapshot: Snapshot, node_mask: Bool) -> I64:
    """Rows of assigned replicas whose node is in ``node_mask`` (pending rows map to False)."""
    if not node_mask.any():  # the common steady state: no pass over the replicas at all
        return np.empty(0, dtype=np.int64)
    padded = np.append(node_mask, False)  # node == -1 indexes the padding
    out: I64 = np.flatnonzero(padded[snapshot.replicas.node])
    return out


def not_scheduled(snapshot: Snapshot, rows: I64) -> I64:
    """Drop rows that already carry a scheduled eviction (it runs at its deadline)."""
    out: I64 = rows[~np.isfinite(snapshot.replicas.evict_at_s[rows])]
    return out
