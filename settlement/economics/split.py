"""How request payments split into protocol fee, owner share and provider share (exact int64).

A batch of ``c`` requests pays ``amount = c * price``; ``fee = amount * fee_bps // BPS``, ``owner =
(amount - fee) * owner_bps // BPS`` and the provider gets the rest. Counts take few values, so the
split is computed once per count (a table) unless a count is too large for one.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from settlement.economics.params import BPS, EconomicsParams

#: A request count above this is split per batch instead of through a per-count table.
TABLE_MAX = 1 << 16
#: Rows of `split_table` (column ``c``: the split of a batch of ``c`` requests).
FEE, OWNER_SHARE, PROVIDER_SHARE = range(3)


@dataclass(frozen=True, slots=True)
class Split:
    """Per-batch request payment split (fee, owner share, provider share) and its totals."""

    amount: NDArray[np.int64] | None  # None: ``count * price`` (payers are grouped by count)
    owner: NDArray[np.int64]
    provider: NDArray[np.int64]
    fees: int
    owner_total: int
    provider_total: int
    owner_max: int  # bound of |owner| per batch
    count_max: int  # largest request count of a batch
    #: A positive count always pays the owner / provider something (so a positive group total
    #: means the group had a batch of at least one request).
    owner_positive: bool
    provider_positive: bool


def split_by_count(params: EconomicsParams, count: NDArray[np.int64]) -> Split:
    """Split each batch's payment; counts take few values, so a per-count table does it."""
    price = params.request_price_base_units
    top = int(count.max(initial=0))
    if count.size and (top > TABLE_MAX or int(count.min()) < 0):
        return split_each(params, count)
    values = np.arange(top + 2, dtype=np.int64)  # at least counts 0 and 1
    amount_t = values * price
    fee_t = amount_t * params.protocol_fee_bps // BPS
    owner_t = (amount_t - fee_t) * params.owner_share_bps // BPS
    provider_t = amount_t - fee_t - owner_t
    hist = np.bincount(count, minlength=top + 1)
    used = np.flatnonzero(hist)
    counts = hist[used].tolist()

    def total(table: NDArray[np.int64]) -> int:  # exact: Python ints over the distinct counts
        return sum(map(operator.mul, counts, table[used].tolist()))

    return Split(
        amount=None,
        owner=owner_t[count],
        provider=provider_t[count],
        fees=total(fee_t),
        owner_total=total(owner_t),
        provider_total=total(provider_t),
        owner_max=int(np.abs(owner_t).max()),
        count_max=top,
        # the split is non-decreasing in the count: positive at 1 means positive at every c >= 1
        owner_positive=bool(owner_t[1] > 0),
        provider_positive=bool(provider_t[1] > 0),
    )


def split_each(params: EconomicsParams, count: NDArray[np.int64]) -> Split:
    """Split batch by batch (counts too large or negative for a per-count table)."""
    amount = count * params.request_price_base_units
    fee = amount * params.protocol_fee_bps // BPS
    owner = (amount - fee) * params.owner_share_bps // BPS
    provider = amount - fee - owner
    return Split(
        amount=amount,
        owner=owner,
        provider=provider,
        fees=int(fee.sum()),
        owner_total=int(owner.sum()),
        provider_total=int(provider.sum()),
        owner_max=2**63,  # unknown: exact integer sums
        count_max=int(count.max(initial=0)),
        owner_positive=False,
        provider_positive=False,
    )


@functools.lru_cache(maxsize=8)
def split_table(price: int, fee_bps: int, owner_bps: int, top: int) -> NDArray[np.int64]:
    """Split of a batch of ``c`` requests for ``0 <= c <= top``: rows `FEE`, `OWNER_SHARE`, ...

    Read-only: the table is shared between steps.
    """
    amount = np.arange(top + 1, dtype=np.int64) * price
    fee = amount * fee_bps // BPS
    owner = (amount - fee) * owner_bps // BPS
    table = np.stack([fee, owner, amount - fee - owner])
    table.flags.writeable = False  # shared between steps
    return table


@functools.lru_cache(maxsize=8)
def provider_units(
    price: int, fee_bps: int, owner_bps: int, top: int
) -> tuple[int, NDArray[np.int64]]:
    """The provider shares of `split_table` as (unit, shares // unit): unit = their gcd.

    Per-node sums of the multiples are smaller than those of the shares (when the split is linear
    in the count they are request counts), so they fit a narrower scratch. Unit 0: every share is
    0. Read-only, like the table.
    """
    share = split_table(price, fee_bps, owner_bps, top)[PROVIDER_SHARE]
    unit = int(np.gcd.reduce(share))
    multiples = share // unit if unit > 0 else share.copy()
    multiples.flags.writeable = False
    return unit, multiples
