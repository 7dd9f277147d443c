"""The compiled replica-table scans return exactly what their numpy statements return."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.scans import (
    assigned_at_least,
    assigned_keys_of,
    due_and_unassigned_rows,
    due_rows,
    pending_paid_rows,
    unassigned_rows,
    union_rows,
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 400), services=st.integers(1, 30))
def test_scans_equal_flatnonzero(seed: int, n: int, services: int) -> None:
    rng = np.random.default_rng(seed)
    node = rng.integers(-1, 5, n).astype(np.int32)
    now = 100.0
    evict_at = rng.choice([np.inf, np.nan, now, now - 1e-9, now + 1e-9, 0.0, -np.inf], n)
    service = rng.integers(0, services, n).astype(np.int32)
    marked = rng.random(services) < 0.3
    assert unassigned_rows(node).tolist() == np.flatnonzero(node < 0).tolist()
    want_due = np.flatnonzero((evict_at <= now) & (node >= 0))
    assert due_rows(evict_at, node, now).tolist() == want_due.tolist()
    both = due_and_unassigned_rows(evict_at, node, now)
    assert [r.tolist() for r in both] == [want_due.tolist(), np.flatnonzero(node < 0).tolist()]
    want_of = np.flatnonzero(marked[service] & (node >= 0))
    domain = rng.integers(0, 7, 5).astype(np.int32)
    want_keys = service[want_of].astype(np.int64) * 7 + domain[node[want_of]]
    assert assigned_keys_of(service, node, marked, domain, 7).tolist() == want_keys.tolist()
    none = np.zeros(0, dtype=bool)  # no services (so no valid replica rows): no keys
    assert assigned_keys_of(service[:0], node[:0], none, domain, 7).size == 0
    violations = rng.integers(0, 6, n).astype(np.int32)
    for limit in (0, 1, 3, 5, 7):
        want_at = np.flatnonzero((violations >= limit) & (node >= 0))
        assert assigned_at_least(violations, limit, node).tolist() == want_at.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), m=st.integers(0, 60))
def test_union_rows_equals_union1d(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    rows = np.unique(rng.integers(0, 50, n)).astype(np.int64)
    more = rng.integers(0, 50, m).astype(np.int32)  # any order, repeats
    got = union_rows(rows, more)
    assert got.dtype == np.int64
    assert got.tolist() == np.union1d(rows, more).tolist()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    count=st.integers(0, 120),
    services=st.integers(1, 20),
)
def test_pending_paid_rows_equal_the_numpy_selections(
    seed: int, n: int, count: int, services: int
) -> None:
    rng = np.random.default_rng(seed)
    node = rng.integers(-1, 3, n).astype(np.int32)
    service = rng.integers(0, services, n).astype(np.int32)
    payment = rng.integers(0, 3, services).astype(np.int8)
    # any order, repeats, and negative rows counting from the end, as numpy's gathers take them
    rows = rng.integers(-n, n, count).astype(np.int64)
    todo, todo_service, skipped = pending_paid_rows(rows, node, service, payment, 1)
    pending = rows[node[rows] < 0]
    unpaid = payment[service[pending]] != 1
    assert todo.tolist() == pending[~unpaid].tolist()
    assert todo_service.dtype == service.dtype
    assert todo_service.tolist() == service[pending[~unpaid]].tolist()
    assert skipped.tolist() == pending[unpaid].tolist()


def test_pending_paid_rows_refuse_rows_out_of_range() -> None:
    node = np.full(4, -1, dtype=np.int32)
    service = np.zeros(4, dtype=np.int32)
    payment = np.ones(1, dtype=np.int8)
    for bad in (4, -5):
        with pytest.raises(IndexError):
            pending_paid_rows(np.array([0, bad]), node, service, payment, 1)
