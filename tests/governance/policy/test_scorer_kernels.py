"""The scorers' compiled passes equal the numpy statements they replace, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import PolicyParams
from governance.policy.prepare import build_context
from governance.policy.scorers.locality import ratios_jit
from governance.policy.scorers.spread import spread_factors_jit
from governance.policy.synthetic import synthetic_network


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 30), k=st.integers(1, 7))
def test_spread_factors_equal_numpy(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    desired = rng.integers(0, 6, 9).astype(np.int32)  # 0: counted as 1
    service = rng.integers(0, 9, rows).astype(np.int32)
    present = rng.random(rows) < 0.7
    counts = rng.integers(0, 8, (rows, k)).astype(np.int32)
    got = np.empty((rows, k), dtype=np.float64)
    spread_factors_jit(counts, present, service, desired, got)
    want = np.ones((rows, k), dtype=float)  # the plugin's numpy statements
    has = np.flatnonzero(present)
    per = np.maximum(desired[service[has]], 1).astype(float)[:, None]
    want[has] = np.clip(1.0 - counts[has] / per, 0.0, 1.0)
    assert got.tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 30), k=st.integers(1, 7))
def test_locality_ratios_equal_numpy(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    deps = rng.integers(0, 7, rows).astype(np.int64)
    found = np.minimum(rng.integers(0, 7, (rows, k)), deps[:, None]).astype(np.int32)
    got = np.empty((rows, k), dtype=np.float64)
    ratios_jit(found, deps, got)
    want = np.zeros((rows, k), dtype=float)
    has = np.flatnonzero(deps > 0)
    want[has] = found[has] / deps[has].astype(float)[:, None]
    assert got.tobytes() == want.tobytes()


def test_services_of_is_the_gather_and_forgets_on_commit() -> None:
    snap = synthetic_network(40, 12, np.random.default_rng(3))
    rows = np.flatnonzero(snap.replicas.node < 0)[:8]
    params = PolicyParams()
    nodes = snap.nodes
    ctx = build_context(snap, params, 0.0, rows, nodes.used.copy(), nodes.replicas_held.copy())
    reps = rows.astype(np.int32)
    first = ctx.services_of(reps)
    assert first.tolist() == snap.replicas.service[reps].tolist()
    assert ctx.services_of(reps) is first  # memoised for the same array
    other = reps[::-1].copy()
    before = ctx.services_of(other)
    assert before.tolist() == snap.replicas.service[other].tolist()
    ctx.forget()  # a commit drops it
    assert ctx.services_of(other) is not before
