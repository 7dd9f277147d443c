"""The compiled node pass of `settle_step`: expire, credit, refresh and redeem every node row.

Rows go in blocks of `BLOCK`: one loop expires, credits and refreshes a block and leaves the
credited balances in place, a second redeems them while they are still in cache. Both loops
vectorise: the redemption divides by `PPM` with a multiply and shifts (`_redeem_fast`) when every
balance of the block is in the range where that is exact, else with the divide (`_redeem_exact`).
Same integer results as the row-at-a-time numpy statements the pass replaces (a test compares).
"""

from __future__ import annotations

import numba
import numpy as np

from settlement.economics.kernels import I64, B, Shares, Units
from settlement.economics.params import PPM

#: Rows per block: their five columns stay in the L1 cache between the two loops.
BLOCK = 256
#: Exact range of the fast redemption: ``0 <= balance * redeem_ppm < FAST_LIMIT``.
FAST_LIMIT = 2**38
# floor(x / PPM) without a divide, for 0 <= x < 2**38 (a 64-bit divide, or the 64 x 64 -> 128-bit
# multiply LLVM turns a divide by a constant into, has no vector instruction: it kept the pass
# scalar). PPM = 2**6 * 15625 and, for x >= 0, x // PPM == (x >> 6) // 15625 with y = x >> 6 <
# 2**32. Let M = ceil(2**45 / 15625) = 2251799814 (< 2**32) and e = M * 15625 - 2**45 = 4918.
# Writing y = q * 15625 + t (0 <= t < 15625): y * M / 2**45 = q + (t + y * e / 2**45) / 15625, and
# y * e < 2**32 * 4918 < 2**45, so the bracket is below 15625 and floor(y * M / 2**45) = q. The
# product y * M < 2**64 fits uint64 (both factors below 2**32: one 32 x 32 -> 64-bit multiply).
#: Power of two in PPM, its odd part, and the multiplier and shift dividing by the odd part.
PPM_TWOS = 6
PPM_ODD = PPM >> PPM_TWOS
SHIFT = 45
MAGIC = -(-(2**SHIFT) // PPM_ODD)


def _redeem_exact(balance: int, redeem_ppm: int) -> np.int64:
    """``balance * redeem_ppm // PPM`` (int64 product, wrapping; floor division)."""
    x = balance * redeem_ppm
    # for x >= 0 (a row with a balance) the unsigned divide by a constant is a multiply and a shift
    return np.int64(np.uint64(x) // np.uint64(PPM)) if x >= 0 else np.int64(x // PPM)


def _redeem_fast(balance: int, redeem_ppm: int) -> np.int64:
    """`_redeem_exact` for ``0 <= balance * redeem_ppm < FAST_LIMIT`` (wrong elsewhere)."""
    low = np.uint64(2**32 - 1)  # y < 2**32 in range: the mask tells the compiler so
    y = (np.uint64(balance * redeem_ppm) >> np.uint64(PPM_TWOS)) & low
    return np.int64((y * np.uint64(MAGIC)) >> np.uint64(SHIFT))


_redeem_exact_jit = numba.njit(cache=True, inline="always", error_model="numpy")(_redeem_exact)
_redeem_fast_jit = numba.njit(cache=True, inline="always", error_model="numpy")(_redeem_fast)


def fast_bound(redeem_ppm: int) -> int:
    """Largest balance `_redeem_fast` redeems exactly (-1: none, the divide everywhere).

    Balances ``0 <= b <= bound`` keep ``b * redeem_ppm`` below `FAST_LIMIT` without wrapping; a
    rate of 0 redeems 0 of any balance (negative ones take the divide: they are rare).
    """
    if redeem_ppm == 0:
        return 2**63 - 1
    if redeem_ppm > 0:
        return (FAST_LIMIT - 1) // redeem_ppm
    return -1


_fast_bound_jit = numba.njit(cache=True, error_model="numpy")(fast_bound)


def _credit_block(
    lo: int,
    hi: int,
    units: Units,
    rate: int,
    shares: Shares,
    unit: int,
    flagged: B | None,
    cutoff: int,
    refresh_to: int,
    balance: I64,
    income: I64,
    expires: I64,
    bound: np.uint64,
) -> tuple[int, int, np.bool_]:
    """Expire, credit and refresh rows ``[lo, hi)``; (burned, units, a balance above ``bound``)."""
    burned = units_total = 0
    outside: np.bool_ = np.bool_(False)
    for j in range(hi - lo):
        i = np.uint64(lo + j)  # an unsigned index: no negative-index wraparound in the loop
        u = units[i]
        units_total += u
        # compiled once without flags (`flagged is None` is known then): no test in the loop
        paid = False if flagged is None else flagged[i]
        share = shares[i] * unit  # int64: the unit times a uint16/uint32 multiple
        shares[i] = 0  # the row is in cache now: cheaper than zeroing the array apart
        credit = u * rate + share
        b, e = balance[i], expires[i]
        dead = (e < cutoff) & (b > 0)
        burned += b if dead else 0
        b = (0 if dead else b) + credit
        income[i] += credit
        # selects, not branches, and a store to every row: the loop vectorises
        expires[i] = refresh_to if (u > 0) | (share > 0) | paid else e
        balance[i] = b
        outside |= np.uint64(b) > bound  # a negative balance too
    return burned, units_total, outside


_credit_block_jit = numba.njit(cache=True, inline="always", error_model="numpy")(_credit_block)


def _apply_nodes_loop(
    units: Units,
    rate: int,
    shares: Shares,
    unit: int,
    flagged: B | None,
    cutoff: int,
    refresh_to: int,
    redeem_ppm: int,
    balance: I64,
    income: I64,
    expires: I64,
    chunk: int,
    chunk_redeemed: I64,
) -> tuple[int, int]:
    """Expire, credit, refresh and redeem node rows; return (burned, ``units.sum()``).

    A row whose ``expires < cutoff`` burns a positive balance first. It is then credited
    ``units * rate + shares * unit`` and refreshed when ``units > 0``, ``shares > 0`` or
    ``flagged`` (None: nobody); ``shares`` (one row per node at least, each a multiple of
    ``unit`` > 0) is zero again after the pass.
    Redemption is ``balance * redeem_ppm // PPM``, summed per slice of ``chunk`` rows into
    ``chunk_redeemed`` (one entry per slice).
    """
    n = units.size
    bound = _fast_bound_jit(redeem_ppm)
    fast_ok = bound >= 0
    ubound = np.uint64(bound if fast_ok else 0)
    units_total = burned = 0
    for c in range(-(-n // chunk)):
        lo = c * chunk
        hi = min(lo + chunk, n)
        redeemed = 0
        for first in range(lo, hi, BLOCK):
            last = min(first + BLOCK, hi)
            dead, got, outside = _credit_block_jit(
                first, last, units, rate, shares, unit, flagged, cutoff, refresh_to,
                balance, income, expires, ubound,
            )  # fmt: skip
            burned += dead
            units_total += got
            if fast_ok and not outside:
                for j in range(last - first):
                    i = np.uint64(first + j)
                    r = _redeem_fast_jit(balance[i], redeem_ppm)
                    balance[i] -= r
                    redeemed += int(r)
            else:
                for j in range(last - first):
                    i = np.uint64(first + j)
                    r = _redeem_exact_jit(balance[i], redeem_ppm)
                    balance[i] -= r
                    redeemed += int(r)
        chunk_redeemed[c] = redeemed
    return burned, units_total


apply_nodes_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_apply_nodes_loop)
