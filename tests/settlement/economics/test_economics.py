"""Token economics: conservation, fee split, expiry/refresh, controller, Gini, params validation."""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import (
    EconomicsParams,
    EconomicsParamsError,
    StepActivity,
    gini,
    initial_controller,
    new_book,
    price_anchor,
    settle_step,
    update_controller,
)

PROVIDERS, OWNERS, REQUESTORS = 6, 3, 2
ACCOUNTS = PROVIDERS + OWNERS + REQUESTORS


def _arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


batch = st.tuples(
    st.integers(PROVIDERS + OWNERS, ACCOUNTS - 1),
    st.integers(0, PROVIDERS - 1),
    st.integers(PROVIDERS, PROVIDERS + OWNERS - 1),
    st.integers(0, 50),
)
step_st = st.tuples(
    st.lists(st.integers(0, 8), min_size=PROVIDERS, max_size=PROVIDERS),
    st.lists(batch, max_size=8),
    st.lists(st.integers(PROVIDERS, PROVIDERS + OWNERS - 1), max_size=4),
    st.one_of(st.none(), st.integers(0, 1_000_000)),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step_st, min_size=1, max_size=12))
def test_supply_is_conserved_and_balances_never_negative(steps: list) -> None:
    params = EconomicsParams(token_lifetime_steps=3, refresh_grace_steps=1)
    book = new_book(ACCOUNTS)
    ctl = initial_controller(params)
    for now, (caps, batches, placements, redeem) in enumerate(steps):
        supply_before = book.supply_base_units
        act = StepActivity(
            now_step=now,
            active_nodes=sum(c > 0 for c in caps),
            capacity_units=_arr(caps),
            request_payer=_arr([b[0] for b in batches]),
            request_provider=_arr([b[1] for b in batches]),
            request_owner=_arr([b[2] for b in batches]),
            request_count=_arr([b[3] for b in batches]),
            placement_payer=_arr(placements),
            redeem_ppm=redeem,
        )
        flows = settle_step(book, ctl, params, act)
        ctl = flows.controller
        delta = (
            flows.earned
            + flows.bought
            - flows.expired
            - flows.placement_burned
            - flows.redeemed
            - flows.fees
        )
        assert book.supply_base_units - supply_before == delta
        assert int(book.balance.sum()) == book.supply_base_units
        assert (book.balance >= 0).all()
        assert book.balance.dtype == np.int64
        paid = flows.fees + flows.owner_rewards + flows.provider_rewards
        assert paid == int(act.request_count.sum()) * params.request_price_base_units


def test_request_payment_split_is_exact() -> None:
    params = EconomicsParams(protocol_fee_bps=1_000, owner_share_bps=2_500, redeem_ppm=0)
    book = new_book(ACCOUNTS)
    act = StepActivity(
        now_step=0,
        active_nodes=1,
        capacity_units=np.zeros(PROVIDERS, np.int64),
        request_payer=_arr([PROVIDERS + OWNERS]),
        request_provider=_arr([1]),
        request_owner=_arr([PROVIDERS]),
        request_count=_arr([10]),
    )
    flows = settle_step(book, initial_controller(params), params, act)
    amount = 10 * params.request_price_base_units
    assert flows.fees == amount // 10
    assert book.balance[PROVIDERS] == (amount - amount // 10) // 4
    assert book.balance[1] == amount - flows.fees - book.balance[PROVIDERS]
    assert flows.bought == amount  # the requestor held nothing: it bought the whole cost


def test_unrefreshed_credit_expires_after_grace_and_earning_refreshes() -> None:
    params = EconomicsParams(token_lifetime_steps=2, refresh_grace_steps=1, redeem_ppm=0)
    book = new_book(ACCOUNTS)
    ctl = initial_controller(params)
    caps = _arr([1, 1, 0, 0, 0, 0])
    flows = settle_step(book, ctl, params, StepActivity(0, 2, caps))
    earned_each = flows.earned // 2
    only_first = _arr([1, 0, 0, 0, 0, 0])
    for now in range(1, 5):
        flows = settle_step(book, flows.controller, params, StepActivity(now, 1, only_first))
    # Node 1 stopped earning at step 0: expiry 2, grace 1 -> burned at step 4.
    assert book.balance[1] == 0
    assert flows.expired == earned_each
    assert book.balance[0] > earned_each


def test_emission_controller_follows_network_size() -> None:
    params = EconomicsParams()
    ctl = initial_controller(params)
    per_node = params.target_supply_per_node_base_units
    grown = update_controller(
        ctl,
        params,
        supply_base_units=per_node * 100,
        active_nodes=1_000,
        bought_base_units=0,
        redeemed_base_units=0,
    )
    shrunk = update_controller(
        ctl,
        params,
        supply_base_units=per_node * 1_000,
        active_nodes=100,
        bought_base_units=0,
        redeemed_base_units=0,
    )
    assert grown.emission_ppm > ctl.emission_ppm > shrunk.emission_ppm
    assert shrunk.emission_ppm >= params.emission_min_ppm


def test_price_moves_with_net_buy_pressure_within_circuit_breaker() -> None:
    params = EconomicsParams(price_reversion_ppm=0)
    ctl = initial_controller(params)
    kwargs = {"supply_base_units": 10**9, "active_nodes": 1}
    up = update_controller(ctl, params, bought_base_units=10**12, redeemed_base_units=0, **kwargs)
    down = update_controller(ctl, params, bought_base_units=0, redeemed_base_units=10**6, **kwargs)
    assert up.price_micro == ctl.price_micro * 11 // 10
    assert down.price_micro < ctl.price_micro


def test_price_reverts_to_an_anchor_that_grows_with_the_network() -> None:
    params = EconomicsParams()
    assert price_anchor(params, params.reference_nodes) == params.initial_price_micro
    assert price_anchor(params, 4 * params.reference_nodes) == 2 * params.initial_price_micro
    state = initial_controller(params)
    for _ in range(200):
        state = update_controller(
            state,
            params,
            supply_base_units=10**9,
            active_nodes=4 * params.reference_nodes,
            bought_base_units=0,
            redeemed_base_units=0,
        )
    assert abs(state.price_micro - 2 * params.initial_price_micro) <= 10


def test_gini_bounds() -> None:
    assert gini(np.full(10, 5, np.int64)) == pytest.approx(0.0)
    assert gini(_arr([0] * 99 + [100])) == pytest.approx(0.99)
    assert gini(np.zeros(3, np.int64)) == 0.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("protocol_fee_bps", 10_001), ("redeem_ppm", -1), ("token_lifetime_steps", 0), ("x", 1)],
)
def test_invalid_params_name_the_field(field: str, value: int) -> None:
    if field == "x":
        with pytest.raises(EconomicsParamsError, match="earn_base_units_per_capacity_step"):
            EconomicsParams(earn_base_units_per_capacity_step=1.5)  # type: ignore[arg-type]
        return
    with pytest.raises(EconomicsParamsError, match=field):
        dataclasses.replace(EconomicsParams(), **{field: value})


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**12)), max_size=40),
    dense=st.booleans(),
)
def test_group_sums_are_exact_on_both_paths(rows: list[tuple[int, int]], dense: bool) -> None:
    from settlement.economics.book import sum_by

    keys = _arr([k % 7 if dense else k for k, _ in rows])
    amounts = _arr([a for _, a in rows])
    got_keys, got_sums = sum_by(keys, amounts)
    expected: dict[int, int] = {}
    for k, a in zip(keys.tolist(), amounts.tolist(), strict=True):
        expected[k] = expected.get(k, 0) + a
    assert got_keys.tolist() == sorted(expected)
    assert got_sums.tolist() == [expected[k] for k in sorted(expected)]


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 9), st.integers(2**50, 2**58)), max_size=20))
def test_group_sums_stay_exact_beyond_float_precision(rows: list[tuple[int, int]]) -> None:
    from settlement.economics.book import sum_by

    keys, amounts = _arr([k for k, _ in rows]), _arr([a for _, a in rows])
    got_keys, got_sums = sum_by(keys, amounts)
    expected: dict[int, int] = {}
    for k, a in rows:
        expected[k] = expected.get(k, 0) + a
    assert got_sums.tolist() == [expected[k] for k in got_keys.tolist()]


def _reference_step(book, ctl, params, act):  # type: ignore[no-untyped-def]
    """The documented order, one operation at a time (what the fused `settle_step` must equal)."""
    now, n = act.now_step, act.capacity_units.size
    life = now + params.token_lifetime_steps
    bal, exp, inc = book.balance, book.expires_at_step, book.income
    dead = (exp + params.refresh_grace_steps < now) & (bal > 0)
    expired = int(bal[dead].sum())
    bal[dead] = 0
    reward = act.capacity_units.astype(np.int64) * (  # uint8 units times a rate above 255
        params.earn_base_units_per_capacity_step * ctl.emission_ppm // 10**6
    )
    bal[:n] += reward
    inc[:n] += reward
    exp[:n] = np.where(act.capacity_units > 0, life, exp[:n])

    def charge(payers, costs):  # type: ignore[no-untyped-def]
        bought = 0
        for key in sorted(set(payers.tolist())):
            total = int(costs[payers == key].sum())
            spendable = int(bal[key]) if exp[key] >= now else 0
            extra = max(total - spendable, 0)
            bal[key] += extra - total
            bought += extra
        return bought

    amount = act.request_count * params.request_price_base_units
    bought = charge(act.request_payer, amount)
    fee = amount * params.protocol_fee_bps // 10_000
    owner = (amount - fee) * params.owner_share_bps // 10_000
    for accounts, share in (
        (act.request_owner, owner),
        (act.request_provider, amount - fee - owner),
    ):
        np.add.at(bal, accounts, share)
        np.add.at(inc, accounts, share)
    live = act.request_count > 0  # a batch of 0 requests refreshes nobody
    for accounts in (act.request_owner, act.request_provider, act.request_payer):
        exp[accounts[live]] = life
    cost = np.full(act.placement_payer.size, params.placement_price_base_units, np.int64)
    bought += charge(act.placement_payer, cost)
    redeem_ppm = params.redeem_ppm if act.redeem_ppm is None else act.redeem_ppm
    redeem = bal[:n] * redeem_ppm // 10**6
    bal[:n] -= redeem
    return expired, bought, int(fee.sum()), int(redeem.sum())


def _assert_replays_reference(flows, book, ref, ctl, params, act) -> int:  # type: ignore[no-untyped-def]
    """The step's flows and book equal the one-operation-at-a-time replay; return expired."""
    expired, bought, fees, redeemed = _reference_step(ref, ctl, params, act)
    assert (flows.expired, flows.bought, flows.fees, flows.redeemed) == (
        expired,
        bought,
        fees,
        redeemed,
    )
    assert book.balance.tolist() == ref.balance.tolist()
    assert book.income.tolist() == ref.income.tolist()
    assert book.expires_at_step.tolist() == ref.expires_at_step.tolist()
    return int(expired)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(step_st, min_size=1, max_size=10),
    fee_bps=st.sampled_from([0, 500, 9_999, 10_000]),
    owner_bps=st.sampled_from([0, 3_000, 10_000]),
    price=st.sampled_from([0, 1, 2_000]),
    per_batch=st.booleans(),
    outside=st.booleans(),
)
def test_fused_step_equals_the_documented_order(
    steps: list, fee_bps: int, owner_bps: int, price: int, per_batch: bool, outside: bool
) -> None:
    params = EconomicsParams(
        token_lifetime_steps=2,
        refresh_grace_steps=1,
        protocol_fee_bps=fee_bps,
        owner_share_bps=owner_bps,
        request_price_base_units=price,
    )
    book, ref = new_book(ACCOUNTS), new_book(ACCOUNTS)
    ctl = initial_controller(params)
    for now, (caps, batches, placements, redeem) in enumerate(steps):
        # providers may also pay (ring wash trades: a node's own account is the payer)
        act = StepActivity(
            now_step=now,
            active_nodes=sum(c > 0 for c in caps),
            capacity_units=_arr(caps),
            request_payer=_arr([b[0] if b[3] % 3 else b[1] for b in batches]),
            # outside: a provider account beyond the node rows (the general path)
            request_provider=_arr(
                [ACCOUNTS - 1 if outside and b[3] % 2 else b[1] for b in batches]
            ),
            # a node may own the service too (ring wash trades: the host is payer and owner)
            request_owner=_arr([b[2] if b[3] % 5 else b[1] for b in batches]),
            request_count=_arr([b[3] for b in batches]),
            # a node may pay placements too
            placement_payer=_arr([p if p % 2 else p - PROVIDERS for p in placements]),
            redeem_ppm=redeem,
        )
        # per_batch: counts too large for the per-count table take the batch-by-batch split
        with mock.patch("settlement.economics.split.TABLE_MAX", 0 if per_batch else 1 << 16):
            flows = settle_step(book, ctl, params, act)
        _assert_replays_reference(flows, book, ref, ctl, params, act)
        ctl = flows.controller


def test_a_batch_of_no_requests_refreshes_nobody() -> None:
    params = EconomicsParams(token_lifetime_steps=2, refresh_grace_steps=1)
    book = new_book(ACCOUNTS)
    act = StepActivity(
        now_step=5,
        active_nodes=1,
        capacity_units=np.zeros(PROVIDERS, np.int64),
        request_payer=_arr([PROVIDERS + OWNERS, PROVIDERS + OWNERS + 1]),
        request_provider=_arr([1, 2]),
        request_owner=_arr([PROVIDERS, PROVIDERS + 1]),
        request_count=_arr([0, 3]),
    )
    settle_step(book, initial_controller(params), params, act)
    life = 5 + params.token_lifetime_steps
    assert book.expires_at_step[[1, PROVIDERS, PROVIDERS + OWNERS]].tolist() == [0, 0, 0]
    assert book.expires_at_step[[2, PROVIDERS + 1, PROVIDERS + OWNERS + 1]].tolist() == [life] * 3


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 50), st.integers(-(2**36), 2**36)), max_size=30),
    huge=st.booleans(),
)
def test_nonzero_group_sums_are_exact_and_drop_zero_groups(
    rows: list[tuple[int, int]], huge: bool
) -> None:
    from settlement.economics.book import nonzero_sums

    scale = 2**20 if huge else 1  # beyond float64 precision: the exact path
    keys = _arr([k for k, _ in rows])
    amounts = _arr([a * scale for _, a in rows])
    bound = int(np.abs(amounts).max(initial=0))
    got_keys, got_sums = nonzero_sums(keys, amounts, bound)
    expected: dict[int, int] = {}
    for k, a in zip(keys.tolist(), amounts.tolist(), strict=True):
        expected[k] = expected.get(k, 0) + a
    want = sorted(k for k, v in expected.items() if v != 0)
    assert got_keys.tolist() == want
    assert got_sums.tolist() == [expected[k] for k in want]


@pytest.mark.parametrize("path", ["compiled", "per_batch", "outside"])
def test_stale_node_rows_burn_before_the_step_touches_them(path: str) -> None:
    # node rows 0..3 hold stale credit; 0 pays requests, 1 owns a service, 2 pays a placement,
    # 3 provides (beyond the node rows on the "outside" path), 4 is untouched
    params = EconomicsParams(token_lifetime_steps=2, refresh_grace_steps=1)
    book, ref = new_book(ACCOUNTS), new_book(ACCOUNTS)
    for b in (book, ref):
        b.balance[:5] = [500, 600, 700, 800, 900]
        b.supply_base_units = 3_500
    provider = ACCOUNTS - 1 if path == "outside" else 3
    act = StepActivity(
        now_step=10,
        active_nodes=0,
        capacity_units=np.zeros(PROVIDERS, np.int64),
        request_payer=_arr([0, PROVIDERS + OWNERS]),
        request_provider=_arr([provider, 3]),
        request_owner=_arr([PROVIDERS, 1]),
        request_count=_arr([2, 3]),
        placement_payer=_arr([2]),
    )
    ctl = initial_controller(params)
    with mock.patch("settlement.economics.split.TABLE_MAX", 0 if path == "per_batch" else 1 << 16):
        flows = settle_step(book, ctl, params, act)
    assert _assert_replays_reference(flows, book, ref, ctl, params, act) == 3_500
    assert book.supply_base_units == int(book.balance.sum())


def test_request_scratch_is_zero_again_after_each_step() -> None:
    # a payer that is also an owner and a node row, so every zeroing path is taken
    params = EconomicsParams()
    book = new_book(ACCOUNTS)
    act = StepActivity(
        now_step=1,
        active_nodes=1,
        capacity_units=_arr([1] * PROVIDERS),
        request_payer=_arr([1, PROVIDERS + OWNERS, PROVIDERS]),
        request_provider=_arr([1, 2, 3]),
        request_owner=_arr([1, PROVIDERS, PROVIDERS]),
        request_count=_arr([4, 0, 7]),
    )
    for _ in range(2):
        settle_step(book, initial_controller(params), params, act)
        scratch = book.request_scratch()
        assert scratch is book._scratch  # still clean: reused, not replaced
        assert not np.concatenate([scratch.pay_acc, scratch.own_acc, scratch.mark]).any()
        assert not scratch.hist.any()
        assert not scratch.shares.any()


@pytest.mark.parametrize("count", [1, 2])
def test_node_shares_beyond_uint32_are_summed_exactly(count: int) -> None:
    # at count 2 node 1 gets two shares of ~2.9e9: more than its uint32 scratch row holds
    params = EconomicsParams(request_price_base_units=2**31)
    book, ref = new_book(ACCOUNTS), new_book(ACCOUNTS)
    ctl = initial_controller(params)
    for now in range(3):
        act = StepActivity(
            now_step=now,
            active_nodes=PROVIDERS,
            capacity_units=_arr([1] * PROVIDERS),
            request_payer=_arr([PROVIDERS + OWNERS] * 3),
            request_provider=_arr([2, 1, 1]),
            request_owner=_arr([PROVIDERS] * 3),
            request_count=_arr([1, count, count]),
            placement_payer=_arr([1]),  # a node row paying reads its pending shares
        )
        flows = settle_step(book, ctl, params, act)
        _assert_replays_reference(flows, book, ref, ctl, params, act)
        assert not book.request_scratch().shares.any()
        ctl = flows.controller
    assert (int(book.income[1]) > 2**33) == (count == 2)


@pytest.mark.parametrize("count", [100, 200, 30_000, 40_000])
def test_node_request_counts_beyond_uint16_are_summed_exactly(count: int) -> None:
    # the default split is linear: the narrow scratch sums request counts, 1 330 base units each;
    # node 1 gets 2 * count requests: 400 outgrow its uint8 row (the uint16 one then), 80 000 its
    # uint16 row too (the uint32 one then)
    params = EconomicsParams()
    book, ref = new_book(ACCOUNTS), new_book(ACCOUNTS)
    ctl = initial_controller(params)
    for now in range(3):
        act = StepActivity(
            now_step=now,
            active_nodes=PROVIDERS,
            capacity_units=np.asarray([1, 0, 2, 0, 16, 3], dtype=np.uint8 if now else np.int64),
            request_payer=_arr([PROVIDERS + OWNERS] * 3),
            request_provider=_arr([2, 1, 1]),
            request_owner=_arr([PROVIDERS] * 3),
            request_count=_arr([1, count, count if now < 2 else 7]),
            placement_payer=_arr([1, 2]),  # node rows paying read their pending shares
        )
        flows = settle_step(book, ctl, params, act)
        _assert_replays_reference(flows, book, ref, ctl, params, act)
        scratch = book.request_scratch()
        assert not scratch.shares.any()
        byte_pause = 0 if count < 2**7 else 16 - now
        assert scratch.narrow_pause == [byte_pause, 0 if count < 2**15 else 16 - now]
        ctl = flows.controller
