"""Compiled one-pass scans of the replica table: the rows that meet a condition, no temporaries.

``np.flatnonzero(cond)`` over 5e6 replica rows makes a pass per operand and per operator plus a
boolean temporary; these loops read each column once. The rows come back ascending, as
``flatnonzero`` returns them (a view into a scratch array as long as the table, whose untouched
pages cost nothing).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from governance.policy.prefetch import prefetch_read
from governance.policy.types import F64, I8, I32, I64, Bool

U8 = npt.NDArray[np.uint8]

#: Selected rows between the prefetch of a row's node domain and its use (random node rows).
_AHEAD = 16


def _unassigned_loop(node: I32, out: I64) -> int:
    found = 0
    for j in range(node.shape[0]):
        if node[j] < 0:
            out[found] = j
            found += 1
    return found


def _due_loop(evict_at_s: F64, node: I32, now_s: float, out: I64) -> int:
    found = 0
    for j in range(node.shape[0]):
        if evict_at_s[j] <= now_s and node[j] >= 0:
            out[found] = j
            found += 1
    return found


def _due_unassigned_loop(evict_at_s: F64, node: I32, now_s: float, due: I64,
                         unassigned: I64) -> tuple[int, int]:  # fmt: skip
    """`_due_loop` and `_unassigned_loop` in one pass over the node column."""
    found_due = 0
    found_unassigned = 0
    for j in range(node.shape[0]):
        if node[j] < 0:
            unassigned[found_unassigned] = j
            found_unassigned += 1
        elif evict_at_s[j] <= now_s:
            due[found_due] = j
            found_due += 1
    return found_due, found_unassigned


def _union_loop(a: I64, b: I64, out: I64) -> int:
    """Distinct values of ascending ``a`` and ``b`` (repeats allowed), ascending, into ``out``."""
    i = j = found = 0
    while i < a.shape[0] or j < b.shape[0]:
        if j == b.shape[0] or (i < a.shape[0] and a[i] <= b[j]):
            v = a[i]
            i += 1
        else:
            v = b[j]
            j += 1
        if found == 0 or out[found - 1] != v:
            out[found] = v
            found += 1
    return found


def _assigned_of_loop(service: I32, node: I32, marked: U8, out: I64) -> int:
    # Branch-free: every row is written at the next free slot, which only a selected row keeps
    # (found <= j, so the write stays in bounds). The test is unpredictable when the marked
    # services' rows are scattered; mispredictions cost more than the stores. The service is
    # read as an unsigned index, clamped to the table (a signed one gets a wraparound test per
    # row, and `marked` is read as bytes, not as bools to normalise): this loop then takes
    # about half the time. Valid services (0 <= s < len(marked)) read the same entries.
    last = np.uint32(marked.shape[0] - 1)
    found = 0
    for j in range(node.shape[0]):
        out[found] = j
        found += marked[min(np.uint32(service[j]), last)] & (node[j] >= 0)
    return found


def _pair_keys_loop(rows: I64, service: I32, node: I32, domain: I32, n_domains: int) -> None:
    """``rows[i] <- service[r] * n_domains + domain[node[r]]`` for ``r = rows[i]``, in place.

    The domain is a random row of the node table: its line is asked for ``_AHEAD`` rows on
    (the node and service columns ``2 * _AHEAD`` on, so that node entry is at hand by then).
    """
    count = rows.shape[0]
    for i in range(count):
        # The rows and their nodes are non-negative (selected rows, assigned): read through
        # unsigned indices, which skip numba's wraparound tests (a prefetch has none).
        if i + 2 * _AHEAD < count:
            prefetch_read(node, rows[i + 2 * _AHEAD])
            prefetch_read(service, rows[i + 2 * _AHEAD])
        if i + _AHEAD < count:
            prefetch_read(domain, node[np.uint64(rows[i + _AHEAD])])
        r = np.uint64(rows[i])
        rows[i] = np.int64(service[r]) * n_domains + domain[np.uint32(node[r])]


def _pending_paid_loop(rows: I64, node: I32, service: I32, payment: I8, paid: int, todo: I64,
                       todo_service: I32, skipped: I64) -> tuple[int, int]:  # fmt: skip
    """Split the unassigned ones of ``rows`` by their service's payment, keeping their order.

    ``todo`` gets the rows whose service is ``paid`` (``todo_service`` their services),
    ``skipped`` the others. The rows are scattered over a long table: their node and service
    entries are asked for ``2 * _AHEAD`` rows on, the service's payment ``_AHEAD`` on.
    """
    count = rows.shape[0]
    found_todo = 0
    found_skipped = 0
    for i in range(count):
        if i + 2 * _AHEAD < count:
            prefetch_read(node, rows[i + 2 * _AHEAD])
            prefetch_read(service, rows[i + 2 * _AHEAD])
        if i + _AHEAD < count:
            prefetch_read(payment, service[rows[i + _AHEAD]])
        r = rows[i]
        if node[r] >= 0:
            continue
        s = service[r]
        if payment[s] == paid:
            todo[found_todo] = r
            todo_service[found_todo] = s
            found_todo += 1
        else:
            skipped[found_skipped] = r
            found_skipped += 1
    return found_todo, found_skipped


def _assigned_at_least_loop(values: I32, limit: float, node: I32, out: I64) -> int:
    found = 0
    for j in range(node.shape[0]):
        if values[j] >= limit and node[j] >= 0:
            out[found] = j
            found += 1
    return found


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_unassigned = _jit(_unassigned_loop)
_due = _jit(_due_loop)
_due_unassigned = _jit(_due_unassigned_loop)
_union = _jit(_union_loop)
_assigned_of = _jit(_assigned_of_loop)
_assigned_at_least = _jit(_assigned_at_least_loop)
_pair_keys = _jit(_pair_keys_loop)
_pending_paid = _jit(_pending_paid_loop)


def unassigned_rows(node: I32) -> I64:
    """``flatnonzero(node < 0)``: replicas waiting for a node."""
    out = np.empty(node.shape[0], dtype=np.int64)
    found: int = _unassigned(node, out)
    return out[:found]


def due_rows(evict_at_s: F64, node: I32, now_s: float) -> I64:
    """``flatnonzero((evict_at_s <= now_s) & (node >= 0))``: assigned, eviction deadline reached."""
    out = np.empty(node.shape[0], dtype=np.int64)
    found: int = _due(evict_at_s, node, float(now_s), out)
    return out[:found]


def due_and_unassigned_rows(evict_at_s: F64, node: I32, now_s: float) -> tuple[I64, I64]:
    """``due_rows(evict_at_s, node, now_s)`` and ``unassigned_rows(node)``, in one pass."""
    due = np.empty(node.shape[0], dtype=np.int64)
    unassigned = np.empty(node.shape[0], dtype=np.int64)
    found_due, found_unassigned = _due_unassigned(evict_at_s, node, float(now_s), due, unassigned)
    return due[:found_due], unassigned[:found_unassigned]


def union_rows(rows: I64, more: I32 | I64) -> I64:
    """``np.union1d(rows, more)`` for ascending distinct ``rows`` (``more``: any order, repeats)."""
    if more.shape[0] == 0:
        return rows
    out = np.empty(rows.shape[0] + more.shape[0], dtype=np.int64)
    found: int = _union(rows, np.sort(more.astype(np.int64)), out)
    return out[:found]


def assigned_keys_of(service: I32, node: I32, marked: Bool, domain: I32, n_domains: int) -> I64:
    """Pair keys ``service * n_domains + domain[node]`` of the marked services' assigned replicas.

    The rows are ``flatnonzero(marked[service] & (node >= 0))``; the keys come in the same order as
    gathering them through the rows would give, each row overwritten by its key in one prefetched
    pass instead of three numpy gathers.
    """
    out = np.empty(node.shape[0], dtype=np.int64)
    if marked.shape[0] == 0:  # no service to mark (the loop clamps into the table)
        return out[:0]
    found: int = _assigned_of(service, node, marked.view(np.uint8), out)
    keys = out[:found]
    _pair_keys(keys, service, node, domain, int(n_domains))
    return keys


def pending_paid_rows(
    rows: I64, node: I32, service: I32, payment: I8, paid: int
) -> tuple[I64, I32, I64]:
    """The unassigned ones of ``rows`` whose service is ``paid``, their services, and the others.

    ``rows[node[rows] < 0]`` split by ``payment[service[row]] == paid`` (order kept), in one
    prefetched pass instead of four gathers and three boolean selections. Out-of-range rows raise
    `IndexError`, as numpy's gathers do (negative rows count from the end, as there).
    """
    n = node.shape[0]
    if rows.shape[0] and (int(rows.min()) < -n or int(rows.max()) >= n):
        raise IndexError(f"replica rows out of range for a table of {n} rows")
    todo = np.empty(rows.shape[0], dtype=np.int64)
    todo_service = np.empty(rows.shape[0], dtype=service.dtype)
    skipped = np.empty(rows.shape[0], dtype=np.int64)
    found_todo, found_skipped = _pending_paid(
        rows, node, service, payment, int(paid), todo, todo_service, skipped
    )
    return todo[:found_todo], todo_service[:found_todo], skipped[:found_skipped]


def assigned_at_least(values: I32, limit: float, node: I32) -> I64:
    """``flatnonzero((values >= limit) & (node >= 0))``: assigned replicas at or over a limit."""
    out = np.empty(node.shape[0], dtype=np.int64)
    found: int = _assigned_at_least(values, float(limit), node, out)
    return out[:found]
