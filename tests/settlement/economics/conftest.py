"""Shared checks for the economics tests: the request pass's outputs against numpy group sums."""

from __future__ import annotations

import numpy as np

from settlement.economics import kernels
from settlement.economics import split as splits


def assert_request_sums(
    count: np.ndarray,
    payer: np.ndarray,
    owner: np.ndarray,
    table: np.ndarray,
    marks: bool,
    outputs: tuple[np.ndarray, ...],
) -> tuple[int, int]:
    """A done request pass over valid batches equals numpy; returns (payers, owners) listed.

    ``outputs``: the pass's ``pay_acc, own_acc, mark, payers, owners, totals``.
    """
    pay_acc, own_acc, mark, payers, owners, totals = outputs
    accounts = pay_acc.size
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
    for row, column in (
        (kernels.FEES, splits.FEE),
        (kernels.OWNER_TOTAL, splits.OWNER_SHARE),
        (kernels.PROVIDER_TOTAL, splits.PROVIDER_SHARE),
    ):
        assert totals[row] == table[column][count].sum()
    assert totals[kernels.COUNT_TOTAL] == count.sum()
    return n_pay, n_own
