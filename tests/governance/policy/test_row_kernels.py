"""The row gathers and scatters of a sampled round and its call equal numpy's fancy indexing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.context import PlacementContext
from governance.policy.placement import apply_placements_jit
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


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80), count=st.integers(0, 60))
def test_apply_placements_equal_the_masked_assignments(seed: int, n: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, count).astype(np.int64)  # repeats: the last write wins, as numpy's
    decided = rng.integers(-1, 9, count).astype(np.int32)
    node_col = rng.integers(-1, 9, n).astype(np.int32)
    started = rng.random(n)
    want_node, want_started = node_col.copy(), started.copy()
    placed = decided >= 0
    want_node[rows[placed]] = decided[placed]
    want_started[rows[placed]] = 12.5
    apply_placements_jit(rows, decided, 12.5, node_col, started)
    assert node_col.tolist() == want_node.tolist()
    assert started.tolist() == want_started.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 60), count=st.integers(0, 50))
def test_dependency_counts_equal_the_pointer_differences(seed: int, m: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    indptr = np.concatenate([[0], np.cumsum(rng.integers(0, 4, m))]).astype(np.int64)
    services = rng.integers(0, m, count).astype(np.int32)
    ctx = SimpleNamespace(services=SimpleNamespace(dep_indptr=indptr))
    got = PlacementContext.dependency_counts(ctx, services)  # type: ignore[arg-type]
    assert got.dtype == np.int64
    assert got.tolist() == (indptr[services + 1] - indptr[services]).tolist()
    block = services.reshape(-1, 1)  # any shape, as the numpy expression takes
    assert PlacementContext.dependency_counts(ctx, block).shape == block.shape  # type: ignore[arg-type]
