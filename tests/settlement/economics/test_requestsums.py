"""The request pass against numpy group sums: many batches, late refusals, sparse accounts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import kernels, requestsums
from settlement.economics import split as splits
from settlement.economics.split import split_table
from tests.settlement.economics.conftest import assert_request_sums

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
    assert_request_sums(
        count, payer, owner, table, marks, (pay_acc, own_acc, mark, payers, owners, totals)
    )


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
