"""The request pass against numpy group sums: many batches, late refusals, sparse accounts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import kernels, requestsums
from settlement.economics import split as splits
from settlement.economics.split import split_table

LIMIT = 40


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    batches=st.integers(0, 700) | st.integers(2_900, 3_100),  # fewer and more than table columns
    # 12 288: three pages of rows scanned; 200 000: many pages, listed batch by batch
    accounts=st.sampled_from([5, 300, 3 * requestsums.PAGE, 200_000]),
    split=st.tuples(
        st.sampled_from([0, 1, 2_000]),
        st.sampled_from([0, 500, 10_000]),
        st.sampled_from([0, 3_000, 10_000]),
    ),
    few_payers=st.booleans(),
    bad=st.one_of(
        st.none(),
        st.tuples(st.integers(0, 10**6), st.sampled_from(["count", "big", "payer", "owner"])),
    ),
)
def test_request_sums_equal_numpy_group_sums(  # type: ignore[no-untyped-def]
    seed: int, batches: int, accounts: int, split, few_payers: bool, bad
) -> None:
    rng = np.random.default_rng(seed)
    count = rng.integers(0, LIMIT + 1, batches) * (rng.random(batches) < 0.9)
    # the simulator's payers are a few requestor rows, its owners a range of their own
    payer = rng.integers(0, min(accounts, 40) if few_payers else accounts, batches)
    owner = rng.integers(0, accounts, batches)
    if bad is not None and batches:
        row = bad[0] % batches
        column, value = {
            "count": (count, -1), "big": (count, LIMIT + 1), "payer": (payer, accounts),
            "owner": (owner, -1),
        }[bad[1]]  # fmt: skip
        column[row] = value
    table = split_table(*split, LIMIT)
    marks = bool(table[splits.OWNER_SHARE, 1] <= 0)  # as `settle_step` decides
    pay_acc, own_acc = np.zeros(accounts, np.int64), np.zeros(accounts, np.int64)
    mark, totals = np.zeros(accounts, np.uint8), np.zeros(6, np.int64)
    hist, pages = np.zeros(LIMIT + 1, np.int64), np.zeros(requestsums.pages_for(accounts), np.uint8)
    payers, owners = np.full(accounts + 1, -7), np.full(accounts + 1, -7)
    done = requestsums.sum_requests_jit(
        count, payer, owner, table, (pay_acc, own_acc, mark, pages), (payers, owners), totals,
        marks, hist,
    )  # fmt: skip
    assert not hist.any()
    assert not pages.any()
    if bad is not None and batches:
        assert done == kernels.REFUSED
        assert not np.concatenate([pay_acc, own_acc, mark]).any()
        return
    assert done == batches
    live = count > 0
    want_pay, want_own = np.zeros(accounts, np.int64), np.zeros(accounts, np.int64)
    np.add.at(want_pay, payer[live], count[live])
    np.add.at(want_own, owner[live], table[splits.OWNER_SHARE][count[live]])
    assert pay_acc.tolist() == want_pay.tolist()
    assert own_acc.tolist() == want_own.tolist()
    n_pay, n_own = int(totals[kernels.PAYERS]), int(totals[kernels.OWNERS])
    assert sorted(payers[:n_pay].tolist()) == np.unique(payer[live]).tolist()
    assert sorted(owners[:n_own].tolist()) == np.unique(owner[live]).tolist()
    want_mark = np.zeros(accounts, np.uint8)
    if marks:
        want_mark[owner[live]] = kernels.OWNER
    assert mark.tolist() == want_mark.tolist()
    for row, column in ((kernels.FEES, splits.FEE), (kernels.OWNER_TOTAL, splits.OWNER_SHARE)):
        assert totals[row] == table[column][count].sum()
    assert totals[kernels.PROVIDER_TOTAL] == table[splits.PROVIDER_SHARE][count].sum()
    assert totals[kernels.COUNT_TOTAL] == count.sum()


@pytest.mark.parametrize("short", ["hist", "list", "pages", "acc"])
def test_a_scratch_too_short_is_refused_untouched(short: str) -> None:
    count, keys = np.ones(3, np.int64), np.zeros(3, np.int64)
    table = split_table(2_000, 500, 3_000, LIMIT)
    acc = np.zeros(8, np.int64)
    pages = np.zeros(requestsums.pages_for(8) - (short == "pages"), np.uint8)
    done = requestsums.sum_requests_jit(
        count, keys, keys, table,
        (acc, np.zeros(8 - (short == "acc"), np.int64), np.zeros(8, np.uint8), pages),
        (np.zeros(9 - (short == "list"), np.int64), np.zeros(9, np.int64)), np.zeros(6, np.int64),
        False, np.zeros(LIMIT + 1 - (short == "hist"), np.int64),
    )  # fmt: skip
    assert done == kernels.REFUSED
    assert not acc.any()
