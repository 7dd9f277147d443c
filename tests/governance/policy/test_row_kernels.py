"""The row gathers and scatters of a sampled round's commit equal numpy's fancy indexing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.round_kernels import gather_rows, scatter_rows_jit, take_picks_jit


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 40),
    count=st.integers(0, 60),
    cols=st.sampled_from([1, 3, 4]),
    wide=st.booleans(),
)
def test_gather_rows_equals_the_fancy_index(
    seed: int, m: int, count: int, cols: int, wide: bool
) -> None:
    rng = np.random.default_rng(seed)
    table = (rng.random((m, cols)) * 1000).astype(np.float32)
    rows = rng.integers(0, m, count).astype(np.int64 if wide else np.int32)
    got = gather_rows(table, rows)
    assert got.dtype == table.dtype
    assert got.shape == (count, cols)
    assert got.tobytes() == table[rows].tobytes()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 40), cols=st.integers(1, 5))
def test_scatter_rows_equals_the_fancy_assignment(seed: int, count: int, cols: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.random((count, cols)).astype(np.float32)
    rows = rng.permutation(count + 5)[:count].astype(np.int64)  # distinct
    want = np.full((count + 5, cols), np.nan, dtype=np.float32)
    want[rows] = values
    got = np.full((count + 5, cols), np.nan, dtype=np.float32)
    scatter_rows_jit(values, rows, got)
    assert got.tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(0, 40),
    k=st.integers(1, 7),
    share=st.floats(0.0, 1.0),
    cols=st.integers(1, 4),
)
def test_take_picks_equals_the_flat_take(
    seed: int, rows: int, k: int, share: float, cols: int
) -> None:
    rng = np.random.default_rng(seed)
    block = rng.random((rows, k)) * rng.choice([1e-3, 1.0, 1e30], (rows, k))  # float32 rounding
    pick = rng.integers(0, k, rows).astype(np.int64)
    idx = rng.permutation(rows)[: int(rows * share)].astype(np.int64)  # winners, any order
    col = int(rng.integers(0, cols))
    want = np.full((idx.shape[0], cols), np.nan, dtype=np.float32)
    want[:, col] = block.ravel().take(idx * k + pick[idx])  # commit_round's numpy statement
    where = np.full(rows, -1, dtype=np.int64)
    where[idx] = np.arange(idx.shape[0])
    got = np.full((idx.shape[0], cols), np.nan, dtype=np.float32)
    take_picks_jit(block, where, pick, col, got)
    assert got.tobytes() == want.tobytes()
