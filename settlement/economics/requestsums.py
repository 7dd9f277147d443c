"""The compiled request pass of `settle_step`: request counts per payer, owner shares per owner.

The pass over the batches only adds: who paid or earned is read off the sums afterwards, over
the pages of account rows the batches named (a first batch of a new owner, tested per batch, is a
branch no predictor guesses: it cost more than the adds), and the split totals come from a count
of batches per request count (three table reads and four sums per batch cost more than one add).
"""

from __future__ import annotations

import numba
import numpy as np

from settlement.economics.kernels import (
    AHEAD,
    COUNT_TOTAL,
    FEES,
    I64,
    OWNER,
    OWNER_TOTAL,
    OWNERS,
    PAYERS,
    PROVIDER_TOTAL,
    REFUSED,
    U8,
    Batch,
)
from settlement.economics.prefetch import prefetch_write
from settlement.economics.split import FEE, OWNER_SHARE, PROVIDER_SHARE

#: Account rows per page (a power of two): the pass notes each page a batch names.
PAGE_SHIFT = 12
PAGE = 1 << PAGE_SHIFT
#: Account rows scanned per batch at most; sparser sums are listed by a pass over the batches.
SCAN_PER_BATCH = 4
#: Bit of ``mark`` telling an account listed by that pass (cleared again).
LISTED = 4


def pages_for(accounts: int) -> int:
    """Rows of the page array for ``accounts`` account rows (the pass checks it has them)."""
    return (accounts >> PAGE_SHIFT) + 1


def _list_pages(acc: I64, mark: U8, bit: int, pages: U8, out: I64) -> int:
    """Rows of the noted pages with ``acc[k] != 0`` or ``bit`` in ``mark[k]``, into ``out``."""
    n, rows = 0, acc.size
    for page in range(pages.size):
        if pages[page]:
            first = page << PAGE_SHIFT
            for j in range(min(PAGE, rows - first)):
                k = np.uint64(first + j)  # an unsigned index: no negative-index wraparound
                out[n] = first + j  # written at every row, kept when it is listed: no branch
                n += (acc[k] != 0) | ((mark[k] & bit) != 0)
    return n


_list_pages_jit = numba.njit(cache=True, error_model="numpy")(_list_pages)


def _list_batches(count: Batch, keys: Batch, mark: U8, out: I64) -> int:
    """Distinct ``keys`` of batches of >= 1 request, into ``out`` (`LISTED` marks them a while)."""
    n = 0
    for i in range(count.size):
        k = keys[i]
        if count[i] > 0 and not mark[k] & LISTED:
            mark[k] |= LISTED
            out[n] = k
            n += 1
    for k in out[:n]:
        mark[k] &= ~LISTED
    return n


_list_batches_jit = numba.njit(cache=True, error_model="numpy")(_list_batches)


def _totals(count: Batch, table: I64, hist: I64, totals: I64) -> None:
    """The split totals of the batches, from ``hist`` (zeroed again) or the batches if fewer."""
    fees = own_total = prov_total = count_total = 0
    if count.size < hist.size:  # few batches: zero their counts' rows, read the table per batch
        for c in count:
            hist[c] = 0
            fees += table[FEE, c]
            own_total += table[OWNER_SHARE, c]
            prov_total += table[PROVIDER_SHARE, c]
            count_total += c
    else:
        for c in range(1, hist.size):
            k = hist[c]  # int64 products and sums: they wrap as the per-batch sums would
            fees += k * table[FEE, c]
            own_total += k * table[OWNER_SHARE, c]
            prov_total += k * table[PROVIDER_SHARE, c]
            count_total += k * c
        hist[:] = 0
    totals[FEES], totals[OWNER_TOTAL], totals[PROVIDER_TOTAL] = fees, own_total, prov_total
    totals[COUNT_TOTAL] = count_total


_totals_jit = numba.njit(cache=True, error_model="numpy")(_totals)


def _list_accounts(
    count: Batch, payer: Batch, owner: Batch, sums: tuple[I64, I64, U8, U8], lists: tuple[I64, I64]
) -> tuple[int, int]:
    """List the payers and owners: over the noted pages (zeroed again), or batch by batch."""
    pay_acc, own_acc, mark, pages = sums
    payers, owners = lists
    noted = 0
    for page in pages:
        noted += page
    if noted * PAGE <= SCAN_PER_BATCH * count.size + PAGE:
        n_pay = _list_pages_jit(pay_acc, mark, 0, pages, payers)
        n_own = _list_pages_jit(own_acc, mark, OWNER, pages, owners)
    else:  # few batches over many pages of accounts
        n_pay = _list_batches_jit(count, payer, mark, payers)
        n_own = _list_batches_jit(count, owner, mark, owners)
    pages[:] = 0
    return n_pay, n_own


_list_accounts_jit = numba.njit(cache=True, error_model="numpy")(_list_accounts)


def _zero_sums(
    count: Batch, payer: Batch, owner: Batch, upto: int, sums: tuple[I64, I64, U8, U8], hist: I64
) -> None:
    """Zero what batches ``[0, upto)`` added (their counts are valid)."""
    pay_acc, own_acc, mark, pages = sums
    for i in range(upto):
        pay_acc[payer[i]] = 0
        own_acc[owner[i]] = 0
        mark[owner[i]] = 0
        hist[count[i]] = 0
    pages[:] = 0


_zero_sums_jit = numba.njit(cache=True, error_model="numpy")(_zero_sums)


def _sum_requests_loop(
    count: Batch,
    payer: Batch,
    owner: Batch,
    table: I64,
    sums: tuple[I64, I64, U8, U8],
    lists: tuple[I64, I64],
    totals: I64,
    owner_marks: bool,
    hist: I64,
) -> int:
    """Add up requests per payer and owner shares per owner, and the split totals.

    ``table[:, c]`` is the (fee, owner, provider) split of a batch of ``c`` requests. Batches of 0
    requests add nothing. Account ``k`` gets ``pay_acc[k] += count`` / ``own_acc[k] += owner``
    (``sums`` = pay_acc, own_acc, mark, pages) and is listed once in ``lists`` (payers, owners)
    when it had a batch of >= 1 request: then its sum is not 0 (counts are positive, and so are
    owner shares unless ``owner_marks``: then ``mark`` has its `OWNER` bit). The sums and ``hist``
    (one row per table column) must be zero on entry; the pages and ``hist`` are zero again on
    return, the caller zeroes the listed entries of the others after use.

    Returns the number of batches, or `REFUSED` (scratch zero again) if a count is outside the
    table, a payer or owner outside the accounts, or the scratch is too short.
    """
    pay_acc, own_acc, mark, pages = sums
    accounts, limit, n = mark.size, table.shape[1] - 1, count.size
    short = min(pay_acc.size, own_acc.size, lists[0].size - 1, lists[1].size - 1) < accounts
    if short or hist.size != limit + 1 or pages.size != (accounts >> PAGE_SHIFT) + 1:
        return REFUSED  # unchecked rows would be past the scratch: nothing touched
    own_t = table[OWNER_SHARE]
    for i in range(n):
        if i + AHEAD < n:
            prefetch_write(own_acc, owner[i + AHEAD])
        c, p, o = count[i], payer[i], owner[i]
        if c < 0 or c > limit or p < 0 or p >= accounts or o < 0 or o >= accounts:
            _zero_sums_jit(count, payer, owner, i, sums, hist)
            return REFUSED
        hist[c] += 1
        pay_acc[p] += c
        own_acc[o] += own_t[c]
        if owner_marks:  # the same at every batch: predicted
            mark[o] |= OWNER if c > 0 else 0
        pages[p >> PAGE_SHIFT] = 1
        pages[o >> PAGE_SHIFT] = 1
    _totals_jit(count, table, hist, totals)
    totals[PAYERS], totals[OWNERS] = _list_accounts_jit(count, payer, owner, sums, lists)
    return n


sum_requests_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_sum_requests_loop)
