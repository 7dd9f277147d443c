"""The policy's prefetch intrinsics compile for 1-D and 2-D arrays and change no result."""

from __future__ import annotations

import numba
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.prefetch import prefetch_read, prefetch_row


def _gather_sum_loop(table: np.ndarray, column: np.ndarray, rows: np.ndarray) -> float:
    total = 0.0
    for i in range(rows.shape[0]):
        # far ahead, behind and out of range: a prefetch never faults
        prefetch_read(table, rows[i] + 1_000_000)
        prefetch_read(column, rows[i] - 3)
        prefetch_read(table, rows[(i + 4) % rows.shape[0]])
        total += table[rows[i], 0] + column[rows[i]]
    return total


_gather_sum_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_gather_sum_loop)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 50), count=st.integers(1, 80))
def test_prefetch_changes_no_result(seed: int, n: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    table = rng.random((n, 3))
    column = rng.integers(0, 100, n).astype(np.int32)
    rows = rng.integers(0, n, count).astype(np.int64)
    want = 0.0
    for r in rows.tolist():  # the same sums in the same order, without prefetches
        want += table[r, 0] + column[r]
    assert _gather_sum_jit(table, column, rows) == want
    assert _gather_sum_loop(table, column, rows) == want  # a no-op in plain Python


def _row_sum_loop(table: np.ndarray, rows: np.ndarray) -> float:
    total = 0.0
    for i in range(rows.shape[0]):
        # every line of a row, far ahead and out of range too: a prefetch never faults
        prefetch_row(table, rows[(i + 4) % rows.shape[0]])
        prefetch_row(table, rows[i] + 1_000_000)
        prefetch_row(table, rows[i] - 7)
        for r in range(table.shape[1]):
            total += float(table[rows[i], r])
    return total


_row_sum_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_row_sum_loop)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 50),
    cols=st.integers(0, 5),
    count=st.integers(1, 80),
    strided=st.booleans(),
)
def test_prefetch_row_changes_no_result(
    seed: int, n: int, cols: int, count: int, strided: bool
) -> None:
    rng = np.random.default_rng(seed)
    table = rng.random((n, 2 * cols)).astype(np.float32)
    table = table[:, ::2] if strided else np.ascontiguousarray(table[:, :cols])
    rows = rng.integers(0, n, count).astype(np.int32)
    want = 0.0
    for r in rows.tolist():
        for c in range(cols):
            want += float(table[r, c])
    assert _row_sum_jit(table, rows) == want
    assert _row_sum_loop(table, rows) == want  # a no-op in plain Python
