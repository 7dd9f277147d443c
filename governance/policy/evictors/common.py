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


def replicas_on_each(snapshot: Snapshot, masks: list[Bool | None]) -> list[I64]:
    """`replicas_on` for several node masks with one pass over the replicas (None: no node)."""
    out = [np.empty(0, dtype=np.int64) for _ in masks]
    live = [(i, mask) for i, mask in enumerate(masks) if mask is not None and mask.any()]
    if len(live) <= 1 or len(live) > 8:  # one mask (or more than a byte of bits): one at a time
        for i, mask in live:
            out[i] = replicas_on(snapshot, mask)
        return out
    code = np.empty(snapshot.nodes.size + 1, dtype=np.uint8)
    code[-1] = 0  # node == -1 (pending) reads this row
    np.copyto(code[:-1], live[0][1].view(np.uint8))
    for bit, (_, mask) in enumerate(live[1:], start=1):
        code[:-1] |= mask.view(np.uint8) << np.uint8(bit)
    on = code[snapshot.replicas.node]
    hit = np.flatnonzero(on != 0)  # a bool scan is faster than a uint8 one
    codes = on[hit]
    for bit, (i, _) in enumerate(live):
        out[i] = hit[(codes & np.uint8(1 << bit)) != 0]
    return out
