"""Compiled economics loops against the numpy statements they replace (stated in the tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import kernels, requestsums
from settlement.economics import split as splits
from settlement.economics.split import split_table
from tests.settlement.economics.conftest import assert_request_sums

ACCOUNTS, NODES = 12, 7
LIMIT = 9


def _arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _table(price: int, fee_bps: int, owner_bps: int) -> np.ndarray:
    return split_table(price, fee_bps, owner_bps, LIMIT)


split_params = st.tuples(
    st.sampled_from([0, 1, 7, 2_000, 2**40]),
    st.sampled_from([0, 1, 500, 9_999, 10_000]),
    st.sampled_from([0, 3_000, 10_000]),
)
# keys one outside the valid range on both sides, counts one outside the table on both sides
batch = st.tuples(
    st.integers(-1, LIMIT + 1),
    st.integers(-1, ACCOUNTS),
    st.integers(-1, ACCOUNTS),
)
# valid batches, also more than `kernels.AHEAD` of them (owner rows are asked for ahead)
valid_batch = st.tuples(
    st.integers(0, LIMIT), st.integers(0, ACCOUNTS - 1), st.integers(0, ACCOUNTS - 1)
)
valid_batches = st.lists(valid_batch, max_size=40) | st.lists(
    valid_batch, min_size=kernels.AHEAD, max_size=kernels.AHEAD + 40
)


def _scratch() -> tuple[np.ndarray, ...]:
    zeros = np.zeros(ACCOUNTS, dtype=np.int64)
    return (
        zeros.copy(),
        zeros.copy(),
        np.zeros(ACCOUNTS, dtype=np.uint8),
        np.full(ACCOUNTS + 1, -7, dtype=np.int64),  # the row after the list is written
        np.full(ACCOUNTS + 1, -7, dtype=np.int64),
        np.zeros(6, dtype=np.int64),
        np.zeros(LIMIT + 1, dtype=np.int64),
        np.zeros(requestsums.pages_for(ACCOUNTS), dtype=np.uint8),
    )


@settings(max_examples=200, deadline=None)
@given(rows=st.one_of(st.lists(batch, max_size=30), valid_batches), split=split_params)
def test_request_sums_equal_numpy_group_sums(rows: list[tuple[int, int, int]], split) -> None:  # type: ignore[no-untyped-def]
    count, payer, owner = (_arr([r[k] for r in rows]) for k in range(3))
    table = _table(*split)
    pay_acc, own_acc, mark, payers, owners, totals, hist, pages = _scratch()
    marks = bool(table[splits.OWNER_SHARE, 1] <= 0)  # as `settle_step` decides
    done = requestsums.sum_requests_jit(
        count, payer, owner, table, (pay_acc, own_acc, mark, pages), (payers, owners), totals,
        marks, hist,
    )  # fmt: skip
    assert not pages.any()
    assert not hist.any()
    bad_count = (count < 0) | (count > LIMIT)
    bad_key = (payer < 0) | (payer >= ACCOUNTS) | (owner < 0) | (owner >= ACCOUNTS)
    if (bad_count | bad_key).any():
        assert done == kernels.REFUSED
        assert not np.concatenate([pay_acc, own_acc, mark]).any()
        return
    assert done == count.size
    outputs = (pay_acc, own_acc, mark, payers, owners, totals)
    n_pay, n_own = assert_request_sums(count, payer, owner, table, marks, outputs)
    kernels.unmark_jit(payers[:n_pay], owners[:n_own], pay_acc, own_acc, mark)
    assert not np.concatenate([pay_acc, own_acc, mark]).any()


def _shares_reference(
    count: np.ndarray, provider: np.ndarray, share: np.ndarray, start: int, cap: int
) -> tuple[int, np.ndarray | None]:
    """What the provider pass returns, and ``start + np.add.at`` sums when it shares them all."""
    outside = (provider < 0) | (provider >= NODES)
    # a batch overflows when its provider's running sum (this batch included) exceeds cap
    inside = np.where(outside, 0, provider)
    same = inside[None, :] == inside[:, None]
    earlier = np.tril(np.ones((count.size, count.size), dtype=np.bool_))
    running = start + (same & earlier & ~outside[None, :]) @ share[count]
    bad_out = np.flatnonzero(outside)
    bad_cap = np.flatnonzero(~outside & (running > cap))
    first_out = bad_out[0] if bad_out.size else count.size
    first_cap = bad_cap[0] if bad_cap.size else count.size
    if first_out < first_cap:
        return kernels.OUTSIDE, None
    if first_cap < count.size:
        return kernels.OVERFLOW, None
    want = np.full(NODES, start, dtype=np.int64)
    np.add.at(want, provider, share[count])
    return kernels.SHARED, want


# more batches than `kernels.AHEAD`: rows are asked for ahead of their batch, also unchecked ones
provider_row = st.tuples(st.integers(0, LIMIT), st.integers(-1, NODES))
provider_rows = (
    st.lists(provider_row, max_size=40)
    | st.lists(provider_row, min_size=kernels.AHEAD, max_size=kernels.AHEAD + 40)
).map(lambda rows: [(c, v if v in (-1, NODES) else v % 3) for c, v in rows])


@settings(max_examples=200, deadline=None)
@given(
    rows=st.one_of(provider_rows, st.lists(st.tuples(st.integers(0, LIMIT), st.integers(0, 6)))),
    split=split_params,
    flag=st.booleans(),
    width=st.sampled_from([np.int64, np.uint32, np.uint16]),
    cap=st.sampled_from([2**63 - 1, 2**32 - 1, 2**16 - 1, 30_000, 40]),
)
def test_provider_shares_equal_numpy_add_at(  # type: ignore[no-untyped-def]
    rows: list[tuple[int, int]], split, flag: bool, width: type, cap: int
) -> None:
    count, provider = _arr([r[0] for r in rows]), _arr([r[1] for r in rows])
    share = _table(*split)[splits.PROVIDER_SHARE]
    if width is np.uint32:  # the uint32 scratch: shares of one node never sum past its range
        share = np.minimum(share, 2**16)
        cap = min(cap, 2**32 - 1)
    if width is np.uint16:  # the uint16 scratch sums multiples of the shares' gcd
        share = splits.provider_units(*split, LIMIT)[1]
        cap = min(cap, 2**16 - 1)
    # the caller zeroes it; the pass only adds
    shares = np.full(NODES, 5, dtype=width)
    flagged = np.zeros(NODES if flag else 0, dtype=np.bool_)
    done = kernels.share_providers_jit(count, provider, share, shares, cap, flagged)
    want_done, want = _shares_reference(count, provider, share, 5, cap)
    assert done == want_done
    if want is None:
        return
    assert shares.tolist() == want.tolist()
    if flag:
        want_flags = np.zeros(NODES, dtype=np.bool_)
        want_flags[provider[count > 0]] = True
        assert flagged.tolist() == want_flags.tolist()


def test_rows_asked_for_ahead_may_be_anywhere() -> None:
    # a prefetch never faults: rows far outside the arrays, not checked yet, are asked for
    far = [2**62, -(2**62), 2**40, -1]
    count = _arr([1] * (kernels.AHEAD + len(far)))
    for v in far:
        provider = _arr([0] * kernels.AHEAD + [v, 0, 0, 0])
        shares = np.zeros(NODES, dtype=np.uint32)
        done = kernels.share_providers_jit(
            count, provider, _table(2_000, 500, 3_000)[splits.PROVIDER_SHARE], shares, 2**32 - 1,
            np.zeros(0, np.bool_),
        )  # fmt: skip
        assert done == kernels.OUTSIDE
        scratch = _scratch()
        owner = provider.copy()
        pay_acc, own_acc, mark, payers, owners, totals, hist, pages = scratch
        done = requestsums.sum_requests_jit(
            count, owner * 0, owner, _table(2_000, 500, 3_000),
            (pay_acc, own_acc, mark, pages), (payers, owners), totals, False, hist,
        )  # fmt: skip
        assert done == kernels.REFUSED
        assert not np.concatenate(scratch[:3]).any()


@settings(max_examples=150, deadline=None)
@given(
    # owners filling their row range are swept in row order, scattered ones are listed one by one
    owners=st.one_of(
        st.lists(st.integers(0, 199), unique=True, max_size=12),
        st.lists(st.integers(90, 110), unique=True, max_size=21),
    ),
    seed=st.integers(0, 2**32 - 1),
    nodes=st.integers(0, 200),
    edge=st.booleans(),
)
def test_owner_credit_equals_numpy_fancy_indexing(
    owners: list[int], seed: int, nodes: int, edge: bool
) -> None:
    rng = np.random.default_rng(seed)
    if edge and owners:  # the first row past the node rows is an owner
        nodes = owners[0]
    keys = _arr(owners)
    balance, income, shares = rng.integers(-(2**62), 2**62, size=(3, 200), dtype=np.int64)
    expires = rng.integers(0, 10, size=200, dtype=np.int64)
    # scratch is zero but at the listed owners; an owner whose share is 0 has its OWNER bit
    own_acc = np.zeros(200, dtype=np.int64)
    own_acc[keys] = shares[keys] * rng.integers(0, 2, size=keys.size)
    mark = np.zeros(200, dtype=np.uint8)
    mark[keys[own_acc[keys] == 0]] = kernels.OWNER
    want_bal, want_inc, want_exp = balance.copy(), income.copy(), expires.copy()
    # owners among the node rows expire first (cutoff 5), the others were expired before
    rows = keys[keys < nodes]
    dead = rows[(expires[rows] < 5) & (balance[rows] > 0)]
    want_burned = int(want_bal[dead].sum())
    want_bal[dead] = 0
    want_bal[keys] += own_acc[keys]  # int64 wraps alike
    want_inc[keys] += own_acc[keys]
    want_exp[keys] = 42
    want_acc = own_acc.copy()
    want_acc[keys] = 0
    want_mark = mark.copy()
    want_mark[keys] = 0
    burned = kernels.credit_owners_jit(keys, own_acc, mark, balance, income, expires, 42, nodes, 5)
    assert burned == want_burned
    assert balance.tolist() == want_bal.tolist()
    assert income.tolist() == want_inc.tolist()
    assert expires.tolist() == want_exp.tolist()
    assert own_acc.tolist() == want_acc.tolist()
    assert mark.tolist() == want_mark.tolist()


@given(split=split_params, top=st.integers(1, 300))
def test_provider_units_times_their_multiples_are_the_shares(split, top: int) -> None:  # type: ignore[no-untyped-def]
    share = split_table(*split, top)[splits.PROVIDER_SHARE]
    unit, multiples = splits.provider_units(*split, top)
    assert (multiples * unit).tolist() == share.tolist()
    if unit > 0:  # the largest unit: the smallest multiples
        assert int(np.gcd.reduce(multiples)) == 1
    assert (unit == 0) == (not share.any())


def _charge_numpy(  # type: ignore[no-untyped-def]
    keys, totals, now, units, rate, shares, unit, flagged, cutoff, refresh_to, balance, expires
) -> tuple[int, int]:
    """The numpy `_charge` (expire node rows, spendable as if credited, buy the shortfall)."""
    n = units.size
    rows = keys[(keys >= 0) & (keys < n)]
    dead = rows[(expires[rows] < cutoff) & (balance[rows] > 0)]
    burned = int(balance[dead].sum())
    balance[dead] = 0
    spend_b, spend_e = balance[keys], expires[keys]
    nodes = np.flatnonzero(keys < n)
    at = keys[nodes]
    u = units[at].astype(np.int64)
    credit, refreshed = u * rate, u > 0
    if shares is not None:
        s = shares[at].astype(np.int64)
        credit += s * unit
        refreshed |= s > 0
    if flagged is not None:
        refreshed |= flagged[at]
    spend_b[nodes] += credit
    spend_e[nodes] = np.where(refreshed, refresh_to, spend_e[nodes])
    bought = np.maximum(totals - np.where(spend_e >= now, spend_b, 0), 0)
    balance[keys] += bought - totals
    return int(bought.sum()), burned


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    keys=st.lists(st.integers(0, ACCOUNTS - 1), unique=True, max_size=ACCOUNTS),
    narrow=st.sampled_from([None, np.uint8, np.uint16, np.uint32, np.int64]),
    flags=st.booleans(),
    wide=st.booleans(),
)
def test_charge_equals_numpy(  # type: ignore[no-untyped-def]
    seed: int, keys: list[int], narrow, flags: bool, wide: bool
) -> None:
    rng = np.random.default_rng(seed)
    big = 2**62 if wide else 50  # wide: int64 wraps alike
    key = _arr(keys)
    totals = rng.integers(0, big, key.size, dtype=np.int64)
    balance = rng.integers(-big, big, ACCOUNTS, dtype=np.int64)
    expires = rng.integers(0, 10, ACCOUNTS, dtype=np.int64)
    units = rng.integers(0, 3, NODES).astype(np.uint8 if narrow is np.uint8 else np.int64)
    shares = None if narrow in (None, np.uint8) else rng.integers(0, 3, NODES).astype(narrow)
    flagged = rng.random(NODES) < 0.5 if flags else None
    rate, unit = int(rng.integers(0, big)), int(rng.integers(1, 4))
    args = (key, totals, 5, units, rate, shares, unit, flagged, 4, 9)
    want_bal, want_exp = balance.copy(), expires.copy()
    want = _charge_numpy(*args, want_bal, want_exp)
    bought, burned, done = kernels.charge_jit(*args, balance, expires)
    assert done
    assert (bought, burned) == want
    assert balance.tolist() == want_bal.tolist()
    assert expires.tolist() == want_exp.tolist()


@pytest.mark.parametrize("bad", [-1, ACCOUNTS])
def test_charge_refuses_keys_outside_the_accounts_and_changes_nothing(bad: int) -> None:
    balance = np.arange(ACCOUNTS, dtype=np.int64)
    expires = np.zeros(ACCOUNTS, dtype=np.int64)
    units = np.ones(NODES, dtype=np.int64)
    got = kernels.charge_jit(
        _arr([0, 1, bad]), _arr([5, 5, 5]), 5, units, 1, None, 1, None, 4, 9, balance, expires
    )
    assert got == (0, 0, False)
    assert balance.tolist() == list(range(ACCOUNTS))
    assert expires.tolist() == [0] * ACCOUNTS


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lo=st.integers(-2, ACCOUNTS + 1), wide=st.booleans())
def test_expired_rows_burn_as_numpy(seed: int, lo: int, wide: bool) -> None:
    rng = np.random.default_rng(seed)
    big = 2**62 if wide else 50
    balance = rng.integers(-big, big, ACCOUNTS, dtype=np.int64)
    expires = rng.integers(0, 10, ACCOUNTS, dtype=np.int64)
    want_bal = balance.copy()
    start = max(lo, 0)
    stale = np.flatnonzero(expires[start:] < 5) + start
    dead = stale[balance[stale] > 0]
    want = int(want_bal[dead].sum())
    want_bal[dead] = 0
    assert kernels.expire_rows_jit(balance, expires, lo, 5) == want
    assert balance.tolist() == want_bal.tolist()


@settings(max_examples=100, deadline=None)
@given(
    keys=st.lists(st.integers(-3, 2**40), max_size=40)
    | st.lists(st.integers(0, 5))
    | st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300)
)
def test_group_counts_equal_numpy_unique(keys: list[int]) -> None:
    """Groups in order of first occurrence (``np.unique`` sorts them)."""
    found, counts = kernels.group_counts_jit(_arr(keys))
    want_found, first, want_counts = np.unique(_arr(keys), return_index=True, return_counts=True)
    order = np.argsort(first)
    assert found.tolist() == want_found[order].tolist()
    assert counts.tolist() == want_counts[order].tolist()


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    payers=st.lists(st.integers(0, ACCOUNTS - 1), max_size=3 * ACCOUNTS),
    price=st.sampled_from([0, 1, 7, 2**40, 2**62]),
    narrow=st.sampled_from([None, np.uint16]),
)
def test_grouped_charge_equals_numpy(  # type: ignore[no-untyped-def]
    seed: int, payers: list[int], price: int, narrow
) -> None:
    rng = np.random.default_rng(seed)
    payer = _arr(payers)
    balance = rng.integers(-(2**62), 2**62, ACCOUNTS, dtype=np.int64)
    expires = rng.integers(0, 10, ACCOUNTS, dtype=np.int64)
    units = rng.integers(0, 3, NODES).astype(np.int64)
    shares = None if narrow is None else rng.integers(0, 3, NODES).astype(narrow)
    keys, counts = np.unique(payer, return_counts=True)
    totals = np.full(payer.size, price, np.int64)
    sums = np.zeros(ACCOUNTS, dtype=np.int64)
    np.add.at(sums, payer, totals)  # int64 group sums, wrapping
    args = (5, units, 3, shares, 2, None, 4, 9)
    want_bal, want_exp = balance.copy(), expires.copy()
    want = _charge_numpy(keys.astype(np.int64), sums[keys], *args, want_bal, want_exp)
    assert counts.sum() == payer.size
    bought, burned, done = kernels.charge_groups_jit(payer, price, *args, balance, expires)
    assert done
    assert (bought, burned) == want
    assert balance.tolist() == want_bal.tolist()
    assert expires.tolist() == want_exp.tolist()
