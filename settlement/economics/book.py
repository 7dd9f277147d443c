"""Columnar token book: one row per account (providers first, then owners, then requestors).

The book is mutated in place by `settle_step` (copying 1e7-row arrays every step would dominate the
simulator's cost); it still does no I/O and reads no clock. ``supply_base_units`` is kept exactly as
a Python int so totals never overflow int64, and always equals ``balance.sum()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from settlement.economics.requestsums import pages_for
from settlement.economics.split import TABLE_MAX


@dataclass(slots=True)
class RequestScratch:
    """Per-account accumulators of the compiled request passes (`kernels`): zero between steps.

    ``payers`` and ``owners`` are row lists with room for every account and one more (pages of
    untouched rows are never faulted in); ``pages`` notes the pages of account rows the request
    pass added to, ``hist`` counts batches per request count; ``shares`` sums provider shares in
    its node rows, or multiples of a unit in its head viewed as uint8 or uint16 (the node pass
    zeroes it again); ``clean`` is False while entries may be non-zero. ``narrow_pause``: steps to
    skip the uint8 / uint16 view after a sum outgrew it.
    """

    pay_acc: NDArray[np.int64]
    own_acc: NDArray[np.int64]
    mark: NDArray[np.uint8]
    payers: NDArray[np.int64]
    owners: NDArray[np.int64]
    totals: NDArray[np.int64]
    pages: NDArray[np.uint8]
    hist: NDArray[np.int64]
    shares: NDArray[np.uint32]
    clean: bool = True
    narrow_pause: list[int] = field(default_factory=lambda: [0, 0])


@dataclass(slots=True)
class TokenBook:
    """Balances, expiry and cumulative income per account."""

    balance: NDArray[np.int64]
    expires_at_step: NDArray[np.int64]
    income: NDArray[np.int64]
    supply_base_units: int = 0
    #: Scratch rows reused by `settle_step` (a fresh 1e7-row array costs more in page faults than
    #: the work done in it); no meaning between steps.
    _work: NDArray[np.int64] | None = None
    _scratch: RequestScratch | None = None

    def work(self, rows: int) -> NDArray[np.int64]:
        """The scratch array, at least ``rows`` long (content undefined)."""
        if self._work is None or self._work.size < rows:
            self._work = np.empty(rows, dtype=np.int64)
        return self._work[:rows]

    def request_scratch(self) -> RequestScratch:
        """The request pass's accumulators, one row per account, all zero."""
        rows = self.accounts
        scratch = self._scratch
        if scratch is None or scratch.mark.size != rows or not scratch.clean:
            scratch = self._scratch = RequestScratch(
                pay_acc=np.zeros(rows, dtype=np.int64),
                own_acc=np.zeros(rows, dtype=np.int64),
                mark=np.zeros(rows, dtype=np.uint8),
                payers=np.empty(rows + 1, dtype=np.int64),
                owners=np.empty(rows + 1, dtype=np.int64),
                totals=np.zeros(6, dtype=np.int64),
                pages=np.zeros(pages_for(rows), dtype=np.uint8),
                hist=np.zeros(TABLE_MAX + 1, dtype=np.int64),
                shares=np.zeros(rows, dtype=np.uint32),
            )
        return scratch

    @property
    def accounts(self) -> int:
        return int(self.balance.size)

    def grow(self, accounts: int) -> None:
        """Add empty accounts up to `accounts` rows (new nodes joining the network)."""
        extra = accounts - self.accounts
        if extra <= 0:
            return
        zeros = np.zeros(extra, dtype=np.int64)
        self.balance = np.concatenate([self.balance, zeros])
        self.expires_at_step = np.concatenate([self.expires_at_step, zeros])
        self.income = np.concatenate([self.income, zeros])

    def reset(self, accounts: NDArray[np.int64]) -> int:
        """Zero the given accounts (an identity is dropped); return the base units burned."""
        if accounts.size == 0:
            return 0
        burned = int(self.balance[accounts].sum())
        self.balance[accounts] = 0
        self.income[accounts] = 0
        self.supply_base_units -= burned
        return burned


def new_book(accounts: int) -> TokenBook:
    """An empty book of `accounts` rows."""
    return TokenBook(
        balance=np.zeros(accounts, dtype=np.int64),
        expires_at_step=np.zeros(accounts, dtype=np.int64),
        income=np.zeros(accounts, dtype=np.int64),
    )


def sum_by(keys: NDArray[np.int64], amounts: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
    """Exact integer group sums: (unique keys, summed amounts), keys ascending."""
    if keys.size == 0:
        return keys, amounts
    low, high = int(keys.min()), int(keys.max())
    if high - low <= 4 * keys.size:
        # Dense key range (few payers, many rows): counting scatters, no sort.
        shifted = keys - low if low else keys
        counts = np.bincount(shifted, minlength=high - low + 1)
        present = np.flatnonzero(counts)
        return present.astype(np.int64) + low, _dense_sums(shifted, amounts, high - low + 1)[
            present
        ]
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], np.add.reduceat(amounts[order], starts)


def _dense_sums(
    shifted: NDArray[np.int64], amounts: NDArray[np.int64], size: int
) -> NDArray[np.int64]:
    """Sums of ``amounts`` per key ``0 <= k < size``, exact.

    ``bincount`` adds in float64, which is exact while every partial sum stays below 2**53 (true
    whenever ``max|amount| * rows`` does); otherwise an integer scatter-add.
    """
    bound = max(abs(int(amounts.max())), abs(int(amounts.min()))) * amounts.size
    if bound < 2**53:
        return np.bincount(shifted, weights=amounts, minlength=size).astype(np.int64)
    totals = np.zeros(size, dtype=np.int64)
    np.add.at(totals, shifted, amounts)
    return totals


def nonzero_sums(
    keys: NDArray[np.int64], amounts: NDArray[np.int64], max_abs: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """`sum_by` without the keys whose sum is 0; ``max_abs`` bounds ``|amounts|`` (caller-known).

    One counting scatter on a dense key range, no per-row bound or presence pass.
    """
    if keys.size == 0:
        return keys, amounts
    low, high = int(keys.min()), int(keys.max())
    if high - low <= 4 * keys.size and max_abs * keys.size < 2**53:
        shifted = keys - low if low else keys
        sums = np.bincount(shifted, weights=amounts, minlength=high - low + 1).astype(np.int64)
        nonzero = np.flatnonzero(sums)
        return nonzero.astype(np.int64) + low, sums[nonzero]
    found, totals = sum_by(keys, amounts)
    keep = totals != 0
    return found[keep], totals[keep]
