"""Helpers shared by eviction plugins: node masks lifted to replica rows."""

from __future__ import annotations

import numpy as np

from governance.policy.evictors.kernels import U8, U64, flag_bits, rows_on_codes
from governance.policy.types import I64, Bool, Snapshot


def replicas_on(snapshot: Snapshot, node_mask: Bool) -> I64:
    """Rows of assigned replicas whose node is in ``node_mask`` (pending rows map to False)."""
    if not node_mask.any():  # the common steady state: no pass over the replicas at all
        return np.empty(0, dtype=np.int64)
    return _rows_on_flagged(snapshot, [node_mask])[0]


def not_scheduled(snapshot: Snapshot, rows: I64) -> I64:
    """Drop rows that already carry a scheduled eviction (it runs at its deadline)."""
    out: I64 = rows[~np.isfinite(snapshot.replicas.evict_at_s[rows])]
    return out


def replicas_on_each(snapshot: Snapshot, masks: list[Bool | None]) -> list[I64]:
    """`replicas_on` for several node masks with one pass over the replicas (None: no node)."""
    out = [np.empty(0, dtype=np.int64) for _ in masks]
    live = [(i, mask) for i, mask in enumerate(masks) if mask is not None and mask.any()]
    for start in range(0, len(live), 8):  # a byte of flags per node: eight masks per pass
        group = live[start : start + 8]
        found = _rows_on_flagged(snapshot, [mask for _, mask in group])
        for (i, _), rows in zip(group, found, strict=True):
            out[i] = rows
    return out


def _rows_on_flagged(snapshot: Snapshot, masks: list[Bool]) -> list[I64]:
    """Replica rows on the nodes of each of up to eight masks, in one pass over the replicas."""
    code = masks[0].view(np.uint8).copy()
    for bit, mask in enumerate(masks[1:], start=1):
        code |= mask.view(np.uint8) << np.uint8(bit)
    return rows_on_flags(snapshot, code, flag_bits(code), len(masks))


def rows_on_flags(snapshot: Snapshot, code: U8, bits: U64, n_flags: int) -> list[I64]:
    """Per flag bit 0..n_flags-1, the replica rows on nodes whose ``code`` has it (one pass).

    ``bits`` has one bit per node with a nonzero ``code`` (see `flag_bits`).
    """
    # Scratch as long as the replica table: the untouched pages of np.empty cost nothing.
    n_rep = snapshot.replicas.size
    rows, codes = np.empty(n_rep, dtype=np.int64), np.empty(n_rep, dtype=np.uint8)
    found = rows_on_codes(snapshot.replicas.node, code, bits, rows, codes)
    rows, codes = rows[:found], codes[:found]
    if n_flags == 1:
        return [rows]
    return [rows[(codes & np.uint8(1 << bit)) != 0] for bit in range(n_flags)]
