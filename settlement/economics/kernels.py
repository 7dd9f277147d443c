"""Compiled loops of `settle_step`: provider shares per node, owner credits, charges, expiry.

Each loop does per row the integer operations of the numpy statements it replaces (int64, same
order, wrapping alike), so results are identical; sums that numpy takes per slice are taken per the
same slice here, so they wrap alike too. No floats, no random draws. The batch passes ask for the
scattered rows they update `AHEAD` batches early (`prefetch_write`): their cost is cache misses.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from settlement.economics.prefetch import prefetch_write

I64 = NDArray[np.int64]
#: A request batch column (counts, account rows): int64, or int32 when its values fit (half the
#: bytes to read; the passes widen each value to int64 before any arithmetic).
Batch = NDArray[np.int64] | NDArray[np.int32]
U8 = NDArray[np.uint8]
B = NDArray[np.bool_]
#: Provider shares per node row, in multiples of a unit: uint8, uint16 or uint32 (fewer bytes to
#: zero, scatter into and read; a uint8 array of 1e7 rows stays in cache) or int64.
Shares = NDArray[np.uint8] | NDArray[np.uint16] | NDArray[np.uint32] | NDArray[np.int64]
#: Capacity units per node row: int64, or uint8 (an eighth of the bytes to write and read).
Units = NDArray[np.int64] | NDArray[np.uint8]

#: Bit of the request pass's ``mark`` (`requestsums`): the account is listed as an owner.
OWNER = 2
#: Positions in the request pass's ``totals``.
FEES, OWNER_TOTAL, PROVIDER_TOTAL, COUNT_TOTAL, PAYERS, OWNERS = range(6)
#: Returned by the request pass when a batch is outside what it handles (nothing was changed).
REFUSED = -1
#: Results of the provider pass: done; a provider outside the node rows; a node's sum above cap.
SHARED, OUTSIDE, OVERFLOW = range(3)
#: Batches between asking for a scattered row and updating it: enough to keep the misses of a
#: flushed cache in flight, few enough that the line is still cached when its batch comes. (On
#: captured 1e7 batches after a 320 MB write, 32 ahead: provider pass 11-19 ms, request sums 14-16;
#: 256 ahead: 6 and 10; 1024 ahead: slower again.)
AHEAD = 256


def _share_providers_loop(
    count: Batch, provider: Batch, share: I64, shares: Shares, cap: int, flagged: B
) -> int:
    """``shares[provider] += share[count]``; flag providers of batches of >= 1 request.

    A tight loop of its own: its row reads miss the cache, and a short loop body keeps many of them
    in flight. Counts must index ``share`` (`sum_requests_jit` checked them) and shares be >= 0.
    Returns `SHARED`; `OUTSIDE` if a provider is outside ``shares``, `OVERFLOW` if a sum would
    exceed ``cap`` (``shares``, ``flagged`` undefined then).
    """
    nodes, n = shares.size, count.size
    for i in range(n):
        if i + AHEAD < n:
            prefetch_write(shares, provider[i + AHEAD])
        v = provider[i]
        if v < 0 or v >= nodes:
            return OUTSIDE
        total = shares[v] + share[count[i]]
        if total > cap:
            return OVERFLOW
        shares[v] = total
    if flagged.size:
        for i in range(n):
            if count[i] > 0:
                flagged[provider[i]] = True
    return SHARED


def _unmark_loop(payers: I64, owners: I64, pay_acc: I64, own_acc: I64, mark: U8) -> None:
    """Zero the scratch entries of the listed accounts again."""
    for k in payers:
        pay_acc[k] = own_acc[k] = mark[k] = 0
    for k in owners:
        pay_acc[k] = own_acc[k] = mark[k] = 0


unmark_jit = numba.njit(cache=True, nogil=True)(_unmark_loop)
share_providers_jit = numba.njit(cache=True, nogil=True)(_share_providers_loop)


def _credit_owner(
    k: int, own_acc: I64, mark: U8, balance: I64, income: I64, expires: I64, refresh_to: int
) -> None:
    balance[k] += own_acc[k]
    income[k] += own_acc[k]
    expires[k] = refresh_to
    own_acc[k] = 0
    mark[k] = 0


_credit_owner_jit = numba.njit(cache=True, inline="always")(_credit_owner)


def _credit_owners_loop(
    owners: I64,
    own_acc: I64,
    mark: U8,
    balance: I64,
    income: I64,
    expires: I64,
    refresh_to: int,
    nodes: int,
    cutoff: int,
) -> int:
    """Credit each listed owner its summed share, refresh it and zero its scratch entries.

    Every listed owner had a batch of at least one request: it is refreshed even on a 0 share.
    An owner among the first ``nodes`` rows (expired lazily) first burns a positive balance if it
    expired before ``cutoff``; returns the burned sum. Owners filling most of their row range are
    swept in row order (the list is in batch order: random rows): there a row is an owner if its
    share is not 0 or its ``mark`` has the `OWNER` bit (zero scratch elsewhere).
    """
    burned = 0
    for k in owners:
        if k < nodes and expires[k] < cutoff and balance[k] > 0:
            burned += balance[k]
            balance[k] = 0
    if owners.size == 0:
        return burned
    lo = hi = owners[0]
    for k in owners:
        lo, hi = min(lo, k), max(hi, k)
    if hi - lo < 4 * owners.size:
        for k in range(lo, hi + 1):
            if own_acc[k] != 0 or mark[k] & OWNER:
                _credit_owner_jit(k, own_acc, mark, balance, income, expires, refresh_to)
    else:
        for k in owners:
            _credit_owner_jit(k, own_acc, mark, balance, income, expires, refresh_to)
    return burned


credit_owners_jit = numba.njit(cache=True, nogil=True)(_credit_owners_loop)


def _charge_loop(
    keys: I64,
    totals: I64,
    now: int,
    units: Units,
    rate: int,
    shares: Shares | None,
    unit: int,
    flagged: B | None,
    cutoff: int,
    refresh_to: int,
    balance: I64,
    expires: I64,
) -> tuple[int, int, bool]:
    """Debit ``totals`` from the accounts ``keys`` (unique), buying what they cannot spend.

    A node row (``k < units.size``) first burns a positive balance if it expired before
    ``cutoff``; it then spends as if credited ``units * rate + shares * unit`` (refreshed to
    ``refresh_to`` when ``units > 0``, ``shares > 0`` or ``flagged``; None: no shares / nobody
    flagged). An account spends its balance unless it expires before ``now``; it buys
    ``max(total - spendable, 0)`` and its balance moves by ``bought - total``.
    Returns (bought, burned, True); (0, 0, False) with nothing changed if a key is outside the
    accounts.
    """
    accounts, nodes = balance.size, units.size
    for k in keys:
        if k < 0 or k >= accounts:
            return 0, 0, False
    bought = burned = 0
    for i in range(keys.size):
        k, total = keys[i], totals[i]
        b, e = balance[k], expires[k]
        spend_b, spend_e = b, e
        if k < nodes:
            if e < cutoff and b > 0:
                burned += b
                b = spend_b = 0
            u = np.int64(units[k])
            spend_b += u * rate
            refreshed = u > 0
            if shares is not None:
                share = np.int64(shares[k])
                spend_b += share * unit
                refreshed |= share > 0
            if flagged is not None:
                refreshed |= flagged[k]
            if refreshed:
                spend_e = refresh_to
        spendable = spend_b if spend_e >= now else 0
        buy = max(total - spendable, 0)
        balance[k] = b + (buy - total)
        bought += buy
    return bought, burned, True


charge_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_charge_loop)


def _expire_rows_loop(balance: I64, expires: I64, lo: int, cutoff: int) -> int:
    """Burn the positive balances of rows ``[lo, balance.size)`` that expired before ``cutoff``.

    Returns the burned sum (int64, wrapping as numpy's sum of them does).
    """
    burned = 0
    for k in range(max(lo, 0), balance.size):
        if expires[k] < cutoff and balance[k] > 0:
            burned += balance[k]
            balance[k] = 0
    return burned


expire_rows_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_expire_rows_loop)


#: Fibonacci hashing's multiplier (2**64 / golden ratio): spreads nearby account rows apart.
_HASH = 0x9E3779B97F4A7C15


def _group_counts_loop(keys: I64) -> tuple[I64, I64]:
    """Distinct ``keys`` in order of first occurrence and how often each occurs (one pass).

    Open addressing in a table of at least twice as many slots as keys, probed linearly: at 1e7
    nodes (54 000 placement payers) numpy's sort of the keys alone took 2.7 ms.
    """
    n = keys.size
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    mask = (1 << bits) - 1
    slot_group = np.full(mask + 1, -1, dtype=np.int64)  # the group of a slot, -1 if free
    found = np.empty(n, dtype=np.int64)
    counts = np.empty(n, dtype=np.int64)
    groups = 0
    for i in range(n):
        k = keys[i]
        j = np.int64((np.uint64(k) * np.uint64(_HASH)) >> np.uint64(64 - bits))
        while slot_group[j] >= 0 and found[slot_group[j]] != k:
            j = (j + 1) & mask
        g = slot_group[j]
        if g < 0:
            slot_group[j] = g = groups
            found[g] = k
            counts[g] = 0
            groups += 1
        counts[g] += 1
    return found[:groups], counts[:groups]


group_counts_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_group_counts_loop)


def _charge_groups_loop(
    payers: I64,
    price: int,
    now: int,
    units: Units,
    rate: int,
    shares: Shares | None,
    unit: int,
    flagged: B | None,
    cutoff: int,
    refresh_to: int,
    balance: I64,
    expires: I64,
) -> tuple[int, int, bool]:
    """`_charge_loop` of ``price`` per row of ``payers``, grouped by payer (int64 products).

    Each payer is charged once, whatever the order of the groups: their effects are on distinct
    rows, and the sums are int64 (wrapping alike in any order).
    """
    keys, counts = group_counts_jit(payers)
    return charge_jit(
        keys, counts * price, now, units, rate, shares, unit, flagged, cutoff, refresh_to,
        balance, expires,
    )  # fmt: skip


charge_groups_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_charge_groups_loop)
