"""The compiled node pass against the numpy statements it replaces, and its exact fast divide."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import nodepass
from settlement.economics.params import PPM


def _arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _apply_nodes_numpy(
    units: np.ndarray,
    rate: int,
    shares: np.ndarray | None,
    flagged: np.ndarray | None,
    cutoff: int,
    refresh_to: int,
    ppm: int,
    bal: np.ndarray,
    inc: np.ndarray,
    exp: np.ndarray,
    chunk: int,
) -> tuple[int, list[int], int]:
    """The numpy statements `settle_step` used before the compiled pass (per slice of ``chunk``)."""
    n = units.size
    dead = np.flatnonzero((exp[:n] < cutoff) & (bal[:n] > 0))
    burned = int(bal[dead].sum())
    bal[dead] = 0
    redeemed = []
    for lo in range(0, units.size, chunk):
        hi = min(units.size, lo + chunk)
        credit = units[lo:hi] * rate
        refreshed = units[lo:hi] > 0
        if shares is not None:
            credit += shares[lo:hi]
            refreshed |= shares[lo:hi] > 0
        if flagged is not None:
            refreshed |= flagged[lo:hi]
        balance = bal[lo:hi]
        balance += credit
        inc[lo:hi] += credit
        np.copyto(exp[lo:hi], refresh_to, where=refreshed)
        redeem = balance * ppm
        redeem //= 10**6
        balance -= redeem
        redeemed.append(int(redeem.sum()))
    return burned, redeemed, int(units.sum())


node_row = st.tuples(
    st.sampled_from([0, 0, 1, 16]),  # a node that does not earn is refreshed only by a share
    st.one_of(st.just(0), st.integers(-5, 10**6), st.integers(-(2**62), 2**62)),
    st.one_of(st.integers(0, 10**9), st.integers(-(2**62), 2**62)),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(node_row, max_size=40),
    rate=st.sampled_from([0, 1, 1_015, 2**50]),
    ppm=st.sampled_from([0, 1, 20_000, 10**6]),
    chunk=st.integers(1, 9),
    use_shares=st.booleans(),
    use_flags=st.booleans(),
    cutoff=st.sampled_from([-(2**63), 0, 3, 2**40]),
    width=st.sampled_from([np.int64, np.uint32, np.uint16]),
    unit=st.sampled_from([1, 3, 1_330, 2**40]),
    narrow_units=st.booleans(),
)
def test_node_pass_equals_the_numpy_slices(  # type: ignore[no-untyped-def]
    rows,
    rate: int,
    ppm: int,
    chunk: int,
    use_shares: bool,
    use_flags: bool,
    cutoff: int,
    width: type,
    unit: int,
    narrow_units: bool,
) -> None:
    units, shares, balance = (_arr([r[k] for r in rows]) for k in range(3))
    if width is not np.int64:  # the uint32 scratch, or the uint16 one of multiples of a unit
        shares %= 2**32 if width is np.uint32 else 2**16
    flagged = np.asarray([r[3] for r in rows], dtype=np.bool_)
    # the book has more rows than nodes: rows past the node rows stay untouched
    bal = np.concatenate([balance, _arr([11, 12])])
    inc, exp = bal[::-1].copy(), np.arange(bal.size, dtype=np.int64)
    want_bal, want_inc, want_exp = bal.copy(), inc.copy(), exp.copy()
    want_burned, want_redeemed, want_units = _apply_nodes_numpy(
        units,
        rate,
        shares * unit if use_shares else None,  # int64, wrapping as the pass's product does
        flagged if use_flags else None,
        cutoff,
        99,
        ppm,
        want_bal,
        want_inc,
        want_exp,
        chunk,
    )
    chunk_redeemed = np.empty(-(-units.size // chunk), dtype=np.int64)
    # no shares: a zero array (the clean scratch); the scratch may have more rows than nodes
    given = np.concatenate([shares if use_shares else 0 * shares, [7]])
    pass_shares = given.astype(width)
    got_burned, got_units = nodepass.apply_nodes_jit(
        units.astype(np.uint8 if narrow_units else np.int64),  # units of 0..16 fit a byte
        rate,
        pass_shares,
        unit,
        flagged if use_flags else None,
        cutoff,
        99,
        ppm,
        bal,
        inc,
        exp,
        chunk,
        chunk_redeemed,
    )
    assert chunk_redeemed.tolist() == want_redeemed
    assert (got_burned, got_units) == (want_burned, want_units)
    assert bal.tolist() == want_bal.tolist()
    assert inc.tolist() == want_inc.tolist()
    assert exp.tolist() == want_exp.tolist()
    assert pass_shares.tolist() == [0] * units.size + [7]


def test_the_fast_divide_meets_its_exactness_condition() -> None:
    """The comment's proof: M = ceil(2**S / d) below 2**32 and y * (M * d - 2**S) < 2**S."""
    assert nodepass.PPM_ODD << nodepass.PPM_TWOS == PPM
    assert nodepass.FAST_LIMIT >> nodepass.PPM_TWOS == 2**32  # y = x >> 6 < 2**32
    error = nodepass.MAGIC * nodepass.PPM_ODD - 2**nodepass.SHIFT
    assert 0 <= error < nodepass.PPM_ODD
    assert nodepass.MAGIC < 2**32
    assert (2**32 - 1) * error < 2**nodepass.SHIFT


@settings(max_examples=500, deadline=None)
@given(
    redeem_ppm=st.one_of(
        st.sampled_from([0, 1, 2, 20_000, 999_999, PPM, 3 * PPM, 2**38 - 1, 2**38, 2**40]),
        st.integers(0, 2**40),
    ),
    where=st.one_of(st.integers(0, 2**64), st.sampled_from([0, 1, 2**63, 2**64])),
    step=st.integers(-3, 3),
)
def test_fast_redemption_is_the_floor_division_up_to_its_bound(
    redeem_ppm: int, where: int, step: int
) -> None:
    bound = nodepass.fast_bound(redeem_ppm)
    assert bound >= 0
    assert redeem_ppm == 0 or bound * redeem_ppm < nodepass.FAST_LIMIT
    # near a multiple of PPM (where a floor changes), near the bound, or anywhere below it
    for balance in (
        where % (bound + 1),
        bound - abs(step),
        (where % (bound + 1)) // PPM * PPM + step,
    ):
        if 0 <= balance <= bound:
            want = balance * redeem_ppm // PPM
            assert nodepass._redeem_fast_jit(balance, redeem_ppm) == want
            assert nodepass._redeem_exact_jit(balance, redeem_ppm) == want


def test_negative_rates_take_the_divide() -> None:
    assert nodepass.fast_bound(-1) == -1


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    blocks=st.integers(1, 4),
    extra=st.integers(-5, 5),
    ppm=st.sampled_from([0, 1, 20_000, 10**6, 3 * 10**6, 2**40, -7]),
    spoilers=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["above", "negative", "huge", "at"])),
        max_size=3,
    ),
    chunk=st.sampled_from([1, 7, nodepass.BLOCK, nodepass.BLOCK + 3, 1 << 16]),
    use_flags=st.booleans(),
)
def test_blocks_with_balances_outside_the_fast_range_redeem_exactly(  # type: ignore[no-untyped-def]
    seed: int, blocks: int, extra: int, ppm: int, spoilers, chunk: int, use_flags: bool
) -> None:
    """Blocks of rows in the fast range and blocks where a row is outside it, all as numpy."""
    rng = np.random.default_rng(seed)
    n = max(blocks * nodepass.BLOCK + extra, 1)
    bound = nodepass.fast_bound(ppm)
    top = 2**40 if bound < 0 else min(bound, 2**40)
    units = rng.choice(np.array([0, 1, 2, 16]), n)
    shares = rng.integers(0, 2**16, n)
    # credited balances mostly in range: the credit is small against the top
    balance = rng.integers(0, max(top // 2, 1), n)
    for place, kind in spoilers:
        row = place % n
        above = min(bound + 1, 2**63 - 1)
        balance[row] = {"above": above, "negative": -3, "huge": 2**62, "at": bound}[kind]
    flagged = rng.random(n) < 0.5
    bal = np.concatenate([balance, _arr([11, 12])])
    inc, exp = rng.integers(0, 10**9, bal.size), rng.integers(0, 9, bal.size)
    want_bal, want_inc, want_exp = bal.copy(), inc.copy(), exp.copy()
    want_burned, want_redeemed, want_units = _apply_nodes_numpy(
        units, 1_015, shares * 3, flagged if use_flags else None, 4, 99, ppm,
        want_bal, want_inc, want_exp, chunk,
    )  # fmt: skip
    chunk_redeemed = np.empty(-(-n // chunk), dtype=np.int64)
    pass_shares = shares.astype(np.uint16)
    got_burned, got_units = nodepass.apply_nodes_jit(
        units.astype(np.uint8), 1_015, pass_shares, 3, flagged if use_flags else None, 4, 99, ppm,
        bal, inc, exp, chunk, chunk_redeemed,
    )  # fmt: skip
    assert chunk_redeemed.tolist() == want_redeemed
    assert (got_burned, got_units) == (want_burned, want_units)
    assert bal.tolist() == want_bal.tolist()
    assert inc.tolist() == want_inc.tolist()
    assert exp.tolist() == want_exp.tolist()
    assert not pass_shares.any()
