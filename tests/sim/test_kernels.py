"""The compiled per-slot passes equal the numpy statements they replace (references kept here)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import kernels as k
from sim import observe_kernels as obs
from sim.world import _narrowest_counts

SEEDS = st.integers(0, 2**32 - 1)
SIZES = st.integers(0, 400)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, now=st.floats(-1e12, 1e12))
def test_reachability_equals_numpy(seed: int, n: int, now: float) -> None:
    rng = np.random.default_rng(seed)
    present, down = rng.random(n) < 0.9, rng.random(n) < 0.2
    heartbeat = rng.random(n)
    want_up = present & ~down
    want_hb = heartbeat.copy()
    want_hb[want_up] = now
    up = np.empty(n, dtype=np.bool_)
    count = obs.reachability_jit(present, down, up, heartbeat, now)
    assert up.tolist() == want_up.tolist()
    assert heartbeat.tobytes() == want_hb.tobytes()
    assert count == np.count_nonzero(want_up)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES)
def test_uptime_and_probed_rows_equal_numpy(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    up, probed = rng.random(n) < 0.9, rng.random(n) < 0.3
    uptime, rows = np.full(n, np.nan, np.float32), np.empty(n, np.int64)
    count = obs.uptime_probed_jit(up, probed, uptime, rows)
    assert uptime.tobytes() == up.astype(np.float32).tobytes()
    assert rows[:count].tolist() == np.flatnonzero(probed & up).tolist()


@settings(max_examples=60, deadline=None)
@given(
    seed=SEEDS,
    n=SIZES,
    floor=st.sampled_from([0.3, 0.7, 0.1, -1.0, 0.0]),
)
def test_capacity_units_equal_numpy(seed: int, n: int, floor: float) -> None:
    """Reputation compared in float32 (as numpy does with a Python float), NaN earns nothing.

    The values next to the floor's float32 rounding are where a float64 comparison would differ.
    """
    rng = np.random.default_rng(seed)
    f = np.float32(floor)
    near = [np.nextafter(f, np.float32(-2)), f, np.nextafter(f, np.float32(2)), np.nan, -0.0]
    reputation = rng.choice(np.r_[rng.random(4), near], n).astype(np.float32)
    cores = rng.integers(0, 2**40, n).astype(np.int64)
    up = rng.random(n) < 0.8
    want = cores * (up & (reputation >= floor))
    got = np.full(n, -1, dtype=np.int64)
    cut = int(rng.integers(0, n + 1))  # as two halves (any cut) and whole
    k.capacity_units_jit(cores, up, reputation, np.float32(floor), got, 0, cut)
    k.capacity_units_jit(cores, up, reputation, np.float32(floor), got, cut, n)
    assert got.tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(0, 5000), spread=st.sampled_from([1.0, 1e8]))
def test_compacted_values_sum_as_the_gather(seed: int, n: int, spread: float) -> None:
    """numpy's float32 sum of the compacted head equals its sum of the fancy-index gather."""
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < 0.9
    table = (rng.random((n, 3)) * spread).astype(np.float32)
    for values in (np.ascontiguousarray(table[:, 1]), table[:, 0]):  # contiguous or a column
        out = np.full(n, np.nan, np.float32)
        count = k.compact_jit(mask, values, out, 0, n)
        rows = np.flatnonzero(mask)
        assert out[:count].tobytes() == values[rows].tobytes()
        assert out[:count].sum().tobytes() == values[rows].sum().tobytes()
        # as two halves at any cut, each written from its first row
        cut = int(rng.integers(0, n + 1))
        halves = np.full(n, np.nan, np.float32)
        head = k.compact_jit(mask, values, halves, 0, cut)
        tail = k.compact_jit(mask, values, halves, cut, n)
        assert head + tail == count
        assert halves[:head].tobytes() + halves[cut : cut + tail].tobytes() == out[:count].tobytes()


@settings(max_examples=100, deadline=None)
@given(
    seed=SEEDS,
    n=st.integers(0, 6000),
    share=st.sampled_from([0.02, 0.5, 0.97, 1.0]),
    spread=st.sampled_from([1.0, 1e8, -1.0]),
)
def test_split_after_the_pairwise_head_sums_as_numpy(
    seed: int, n: int, share: float, spread: float
) -> None:
    """numpy's float32 sum over the set rows = the sums of the rows before and after the row
    following the ``head``-th set row (half the count, a multiple of 8), above 128 values.

    What `world_kpis.serving_sums` relies on to sum in two halves (signed zeros included).
    """
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < share
    values = (rng.standard_normal(n) * spread).astype(np.float32)
    values[rng.random(n) < 0.05] = -0.0
    count = int(mask.sum())
    head = count // 2 - (count // 2) % 8
    cut = k.row_after_jit(mask, mask[: n - n % 8].view(np.uint64), head)
    rows = np.flatnonzero(mask)
    assert cut == (rows[head - 1] + 1 if head > 0 else 0)
    if count > 128:
        split = values[:cut][mask[:cut]].sum() + values[cut:][mask[cut:]].sum()
        assert split.tobytes() == values[rows].sum().tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(0, 2000), stride=st.integers(1, 40))
def test_strided_rows_equal_numpy(seed: int, n: int, stride: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < rng.choice([0.3, 0.7, 0.97, 1.0])
    want = np.flatnonzero(mask)[::stride]
    out = np.full(want.size + 2, -7, dtype=np.int64)  # the kernel needs one spare row
    count = k.strided_rows_jit(mask, mask[: n - n % 8].view(np.uint64), stride, out)
    assert out[:count].tolist() == want.tolist()
    assert out[-1] == -7


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 40), m=st.integers(0, 80))
def test_finish_tasks_equals_numpy(seed: int, n: int, m: int) -> None:
    """Task rows (one per task service, as the world builds them) count down on up nodes only."""
    rng = np.random.default_rng(seed)
    service = rng.permutation(m).astype(np.int32)  # one row per service, any order
    task_rows = np.sort(rng.choice(m, rng.integers(0, m + 1), replace=False)).astype(np.int64)
    node = rng.integers(-1, n, m).astype(np.int32)
    up = rng.random(n) < 0.7
    remaining = rng.integers(-2, 4, m).astype(np.int32)
    duration = rng.choice(np.array([1, 2, 10], np.int32), m)
    # reference: the numpy statements of the former `finish_tasks`
    want = remaining.copy()
    running = task_rows[node[task_rows] >= 0]
    on_healthy = running[up[node[running]]]
    svc = service[on_healthy]
    want[svc] -= 1
    done_want = on_healthy[want[svc] <= 0]
    want[service[done_want]] = duration[service[done_want]]
    done = np.empty(task_rows.size, np.int64)
    cut = int(rng.integers(0, task_rows.size + 1))  # as two halves (any cut)
    got = []
    for lo, hi in ((0, cut), (cut, task_rows.size)):
        count = k.finish_tasks_jit(
            task_rows, service[task_rows], node, up, remaining, duration, done, lo, hi
        )
        got += done[lo : lo + count].tolist()
    assert got == done_want.tolist()
    assert remaining.tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, limit=st.integers(0, 50))
def test_free_slots_equal_numpy(seed: int, n: int, limit: int) -> None:
    rng = np.random.default_rng(seed)
    present = rng.random(n) < rng.choice([0.8, 0.99, 1.0])  # whole present words too
    held = rng.choice([0, 0, 1], n).astype(np.int32)
    absent = np.flatnonzero(~present)
    want = absent[held[absent] == 0][:limit]
    out = np.full(limit, -1, dtype=np.int64)
    words = present[: n - n % 8].view(np.uint64)
    count = k.free_slots_jit(present, words, held, out)
    assert out[:count].tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 30), rows=st.integers(0, 80), m=st.integers(1, 10))
def test_release_equals_ufunc_at_then_maximum_on_released_rows(
    seed: int, n: int, rows: int, m: int
) -> None:
    """Repeated nodes subtract in order; then released rows clamp negatives and -0.0 to +0.0.

    NaN stays; rows nothing was released from are left as they were, negative or not.
    """
    rng = np.random.default_rng(seed)
    specials = np.array([0.0, -0.0, np.nan, -np.nan, -1.0, 1e-45, -1e-45], np.float32)
    used = rng.choice(np.r_[rng.random(6) * 3000, specials], (n, 3)).astype(np.float32)
    held = rng.integers(0, 4, n).astype(np.int32)
    demand = rng.choice(np.r_[rng.random(4) * 2000, 0.0], (m, 3)).astype(np.float32)
    nodes_of = rng.integers(0, n, rows).astype(np.int32)
    services_of = rng.integers(0, m, rows).astype(np.int32)
    want_used, want_held = used.copy(), held.copy()
    np.subtract.at(want_used, nodes_of, demand[services_of])
    np.subtract.at(want_held, nodes_of, 1)
    released = np.unique(nodes_of)
    want_used[released] = np.maximum(want_used[released], 0)
    k.release_jit(nodes_of, services_of, demand, used, held)
    assert used.tobytes() == want_used.tobytes()
    assert held.tolist() == want_held.tolist()


def _mask(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """A mask with runs: whole words and blocks set or clear, as well as random rows."""
    mask = rng.random(n) < share
    for _ in range(rng.integers(0, 4)):
        lo = int(rng.integers(0, max(n, 1)))
        mask[lo : lo + int(rng.integers(0, 200))] = rng.random() < 0.5
    return mask


@settings(max_examples=80, deadline=None)
@given(seed=SEEDS, n=st.integers(0, 2000), share=st.sampled_from([1.0, 0.99, 0.9, 0.5, 0.0]))
def test_reachability_by_words_equals_numpy(seed: int, n: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    present, down = _mask(rng, n, share), _mask(rng, n, 0.02)
    heartbeat = rng.choice([0.0, -0.0, np.nan, np.inf, 3.5], n)
    want_up = present & ~down
    want_hb = heartbeat.copy()
    want_hb[want_up] = 7.25
    up = rng.random(n) < 0.5  # stale contents: every row is written
    count = obs.reachability_jit(present, down, up, heartbeat, 7.25)
    assert up.tobytes() == want_up.tobytes()
    assert heartbeat.tobytes() == want_hb.tobytes()
    assert count == np.count_nonzero(want_up)


@settings(max_examples=80, deadline=None)
@given(
    seed=SEEDS,
    n=st.integers(0, 2000),
    share=st.sampled_from([1.0, 0.99, 0.9, 0.5, 0.0]),
    stride=st.integers(1, 12),
)
def test_uptime_over_stale_buffer_and_probed_rows_equal_numpy(
    seed: int, n: int, share: float, stride: int
) -> None:
    rng = np.random.default_rng(seed)
    up = _mask(rng, n, share)
    probed = np.zeros(n, dtype=np.bool_)
    probed[int(rng.integers(0, stride)) :: stride] = True
    # last step's values mostly, and some a plain compare of floats would take as equal
    stale = up.astype(np.float32)
    flip = rng.random(n) < 0.01
    stale[flip] = rng.choice(np.array([0.0, -0.0, np.nan, 1.0, 2.0], np.float32), n)[flip]
    rows = np.full(n, -1, dtype=np.int64)
    count = obs.uptime_probed_jit(up, probed, stale, rows)
    assert stale.tobytes() == up.astype(np.float32).tobytes()
    assert rows[:count].tolist() == np.flatnonzero(probed & up).tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(0, 3000), limit=st.integers(0, 400))
def test_free_slots_over_many_batches_equal_numpy(seed: int, n: int, limit: int) -> None:
    rng = np.random.default_rng(seed)
    present = _mask(rng, n, float(rng.choice([0.5, 0.9, 0.99])))
    held = rng.choice([0, 0, 1, 3], n).astype(np.int32)
    absent = np.flatnonzero(~present)
    want = absent[held[absent] == 0][:limit]
    out = np.full(limit, -1, dtype=np.int64)
    count = k.free_slots_jit(present, present[: n - n % 8].view(np.uint64), held, out)
    assert out[:count].tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, p=st.sampled_from([0.0, 0.02, 0.5, 1.0]))
def test_set_drawn_rows_equal_numpy(seed: int, n: int, p: float) -> None:
    rng = np.random.default_rng(seed)
    slots = 2 * n + 5
    rows = np.sort(rng.choice(slots, n, replace=False)).astype(np.int64)
    draws = rng.random(n)
    draws[rng.random(n) < 0.1] = p  # ties: `<` excludes them
    mask = rng.random(slots) < 0.1
    want_rows = rows[draws < p]
    want_mask = mask.copy()
    want_mask[want_rows] = True
    out = np.full(n, -1, dtype=np.int64)
    count = k.set_drawn_jit(draws, p, rows, mask, out)
    assert out[:count].tolist() == want_rows.tolist()
    assert mask.tobytes() == want_mask.tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, floor=st.sampled_from([0.3, 0.7, 0.1, -1.0, 0.0]))
def test_capacity_units_in_a_byte_equal_numpy(seed: int, n: int, floor: float) -> None:
    """As `test_capacity_units_equal_numpy`, from byte core counts into uint8."""
    rng = np.random.default_rng(seed)
    f = np.float32(floor)
    near = [np.nextafter(f, np.float32(-2)), f, np.nextafter(f, np.float32(2)), np.nan, -0.0]
    reputation = rng.choice(np.r_[rng.random(4), near], n).astype(np.float32)
    cores = rng.integers(0, 255, n, endpoint=True).astype(np.uint8)
    up = rng.random(n) < 0.8
    want = cores.astype(np.int64) * (up & (reputation >= floor))
    got = np.full(n, 7, dtype=np.uint8)
    cut = int(rng.integers(0, n + 1))  # as two halves (any cut) and whole
    k.capacity_units_u8_jit(cores, up, reputation, f, got, 0, cut)
    k.capacity_units_u8_jit(cores, up, reputation, f, got, cut, n)
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize(
    ("counts", "dtype"),
    [([0, 2, 255], np.uint8), ([], np.uint8), ([0, 256], np.int64), ([-1, 3], np.int64)],
)
def test_core_counts_are_stored_in_a_byte_when_they_fit(counts: list[int], dtype: type) -> None:
    stored = _narrowest_counts(np.asarray(counts, dtype=np.int64))
    assert stored.dtype == dtype
    assert stored.tolist() == counts


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, rows=st.integers(0, 500), spread=st.sampled_from([1.0, 1e30]))
def test_means_by_kind_equal_bincount(seed: int, n: int, rows: int, spread: float) -> None:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 5, n).astype(np.int8)
    values = (rng.standard_normal(n) * spread).astype(np.float32)
    picked = rng.integers(0, n, rows if n else 0)
    kinds, weights = kind[picked], values[picked]
    counts = np.bincount(kinds, minlength=5)
    sums = np.bincount(kinds, weights=weights, minlength=5)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    out = np.full(5, -1.0)
    k.mean_by_kind_jit(kind, values, picked, out)
    assert out.tobytes() == want.tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, share=st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_present_rows_equal_numpy(seed: int, n: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    present = rng.random(n) < share
    rows = np.flatnonzero(rng.random(n) < 0.5)
    out = np.full(n, -7, dtype=np.int64)
    count = k.present_rows_jit(rows, present, out)
    assert out[:count].tolist() == rows[present[rows]].tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, p=st.sampled_from([0.0, 0.01, 0.5, 1.0]), start=st.integers(0, 5))
def test_appended_draws_equal_numpy(seed: int, n: int, p: float, start: int) -> None:
    rng = np.random.default_rng(seed)
    rows = rng.permutation(n).astype(np.int64)
    draws = rng.random(n)
    draws[: n // 4] = p  # ties: a draw equal to p is no hit
    out = np.full(n + start, -7, dtype=np.int64)
    end = k.append_drawn_jit(draws, p, rows, out, start)
    assert out[:start].tolist() == [-7] * start
    assert out[start:end].tolist() == rows[draws < p].tolist()


@settings(max_examples=60, deadline=None)
@given(
    seed=SEEDS,
    n=st.integers(0, 300),
    price=st.sampled_from([0, 1, 7, 2_000, 2**40]),
    fee_bps=st.sampled_from([0, 1, 500, 10_000]),
    owner_bps=st.sampled_from([0, 3_000, 10_000]),
    top=st.sampled_from([3, 2**20, 2**40]),
)
def test_provider_share_sum_equals_numpy(
    seed: int, n: int, price: int, fee_bps: int, owner_bps: int, top: int
) -> None:
    rng = np.random.default_rng(seed)
    count = rng.integers(0, top, n, dtype=np.int64)
    rows = rng.integers(0, max(n, 1), n // 2 if n else 0)
    amount = count[rows] * price
    fee = amount * fee_bps // 10_000
    owner = (amount - fee) * owner_bps // 10_000
    want = int((amount - fee - owner).sum())
    assert k.provider_share_jit(count, rows, price, fee_bps, owner_bps) == want


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, r=st.integers(1, 60), m=st.integers(0, 80))
def test_placed_rows_equal_numpy(seed: int, r: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    on = rng.integers(-1, 5, r).astype(np.int32)  # -1: no node
    replica = rng.integers(0, r, m).astype(np.int32)
    node = rng.integers(-1, 5, m).astype(np.int32)
    placed = replica[node >= 0].astype(np.int64)
    want = placed[on[placed] != -1]
    out = np.full(m, -7, dtype=np.int64)
    count = k.placed_rows_jit(replica, node, on, -1, out)
    assert out[:count].tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(
    seed=SEEDS,
    n=st.integers(0, 400),
    every=st.integers(1, 12),
    share=st.sampled_from([0.0, 0.5, 1.0]),
    stray=st.booleans(),
)
def test_gather_every_equals_take_or_refuses(
    seed: int, n: int, every: int, share: float, stray: bool
) -> None:
    """Rows ``offset::every`` (a subset) read from the contiguous table equal the slot table's;
    a row off the pattern makes the kernel refuse."""
    rng = np.random.default_rng(seed)
    offset = int(rng.integers(0, every))
    table = rng.random((n, 3)).astype(np.float32)
    pattern = np.arange(offset, n, every)
    rows = pattern[rng.random(pattern.size) < share].astype(np.int64)
    if stray and n > 0:  # one more row, on the pattern or not
        rows = np.sort(np.r_[rows, int(rng.integers(0, n))]).astype(np.int64)
    off_pattern = bool(((rows - offset) % every != 0).any())
    out = np.full((rows.size, 3), np.nan, np.float32)
    ok = obs.gather_every_jit(np.ascontiguousarray(table[offset::every]), rows, offset, every, out)
    assert ok == (not off_pattern)
    if ok:
        assert out.tobytes() == np.take(table, rows, axis=0).tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=SIZES, every=st.integers(1, 12), width=st.integers(1, 4))
def test_every_tables_hold_the_strided_rows(seed: int, n: int, every: int, width: int) -> None:
    table = np.random.default_rng(seed).random((n, width)).astype(np.float32)
    out = np.full((every, -(-n // every), width), np.nan, np.float32)
    obs.every_tables_jit(table, every, out)
    for offset in range(every):
        rows = table[offset::every]
        assert out[offset, : rows.shape[0]].tobytes() == rows.tobytes()
