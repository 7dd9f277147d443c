"""One step of the token economy: expire, earn, pay requests, pay placements, redeem, steer.

Order matters and is fixed: (1) balances past expiry plus grace are burned; (2) nodes that are up
earn ``capacity * emission`` and are refreshed; (3) requestors pay each request batch, buying
(minting against a deposit) what their spendable balance lacks; the payment is split into protocol
fee, owner share and provider share; (4) owners pay (burn) the placement price, buying what they
lack; (5) providers redeem part of their balance; (6) the controller moves emission and price. Every
account that receives tokens is refreshed (a batch of 0 requests is no activity: it refreshes
nobody). Conservation: delta supply = earned + bought - expired - placement - redeemed - fees.

At 1e7 nodes the step is a few compiled passes: two over the request batches (`requestsums`: sums
per payer and owner; `kernels`: provider shares into the node rows) and one over the node rows at
the end (`nodepass`) that expires, credits rewards and shares, refreshes and redeems. Before it,
the step reads node rows as if already credited, and expires a node row just before it first reads
or changes it, so results equal the order above exactly (a test replays it). Batches outside the
compiled passes' range take the numpy path, with the same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from settlement.economics import kernels, nodepass, requestsums
from settlement.economics import split as splits
from settlement.economics.book import RequestScratch, TokenBook, nonzero_sums, sum_by
from settlement.economics.controller import ControllerState, update_controller
from settlement.economics.credit import (
    NodeCredit,
    charge,
    expire_accounts,
    expire_all_nodes,
    refresh,
    wrap_int64,
)
from settlement.economics.params import BPS, PPM, EconomicsParams
from settlement.economics.split import Split, split_by_count, split_table


def _empty() -> NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class StepActivity:
    """What happened on the network in one step, as account indices and integer counts.

    Provider accounts are rows ``[0, capacity_units.size)`` of the book (int64, or uint8 when
    every node's units fit one byte: fewer bytes to read); a request batch is one (payer,
    provider, owner) triple with a request count. The batch columns are int64 or int32 (any
    mix): the results are the same.
    """

    now_step: int
    active_nodes: int
    capacity_units: kernels.Units
    request_payer: kernels.Batch = field(default_factory=_empty)
    request_provider: kernels.Batch = field(default_factory=_empty)
    request_owner: kernels.Batch = field(default_factory=_empty)
    request_count: kernels.Batch = field(default_factory=_empty)
    placement_payer: NDArray[np.int64] = field(default_factory=_empty)
    #: Overrides ``params.redeem_ppm`` for this step (an economic shock: providers dump tokens).
    redeem_ppm: int | None = None


@dataclass(frozen=True, slots=True)
class StepFlows:
    """Exact token flows of one step (base units) and the controller state after it."""

    earned: int
    bought: int
    expired: int
    placement_burned: int
    redeemed: int
    fees: int
    provider_rewards: int
    owner_rewards: int
    spent: int
    supply: int
    controller: ControllerState


#: Node rows per int64 redemption sum (numpy's slices: kept, so the sums wrap exactly alike).
CHUNK = 1 << 16
#: Stand-in for "no flagged rows" in the provider pass.
_NO_FLAGS = np.zeros(0, dtype=np.bool_)
#: Largest provider-share sum of a node row in the uint32 scratch / in int64.
_U32_MAX, _I64_MAX = 2**32 - 1, 2**63 - 1
#: Views of the scratch's head that sum multiples of a unit, narrowest first, and the largest sum
#: a row of each holds. A uint8 row array of 1e7 nodes stays in cache, a uint16 one mostly not.
_NARROW = ((np.uint8, 2**8 - 1), (np.uint16, 2**16 - 1))
#: Steps a narrow view is left unused after a node's sum outgrew it.
_NARROW_PAUSE = 16


def _pay_requests(
    book: TokenBook, params: EconomicsParams, act: StepActivity, pending: NodeCredit
) -> _Paid:
    """Requestors pay; owners are credited now, providers through ``pending``.

    A batch of 0 requests is no activity: it moves nothing and refreshes nobody. One compiled pass
    over the batches does it when every batch is in its range, else the numpy statements below.
    """
    paid = _pay_requests_compiled(book, params, act, pending)
    if paid is not None:
        return paid
    batches = _wide(act)
    expire_all_nodes(book, pending)
    count = batches.requests
    split = split_by_count(params, count)
    payer_keys, payer_sums = _payer_sums(params, batches, split)
    bought = charge(book, payer_keys, payer_sums, act.now_step, pending)
    owners, owner_sums = nonzero_sums(batches.owner, split.owner, split.owner_max)
    book.balance[owners] += owner_sums
    book.income[owners] += owner_sums
    provider = batches.provider
    if provider.size and int(provider.max()) >= pending.n:  # providers outside the node rows
        np.add.at(book.balance, provider, split.provider)
        np.add.at(book.income, provider, split.provider)
        live = np.unique(np.concatenate([batches.owner, provider])[np.tile(count > 0, 2)])
        refresh(book, live, pending.refresh_to)
    else:
        shares = book.work(pending.n)
        shares.fill(0)
        np.add.at(shares, provider, split.provider)
        pending.shares = shares
        if not split.provider_positive:
            pending.flagged = np.zeros(pending.n, dtype=np.bool_)
            pending.flagged[provider[count > 0]] = True
        live = owners if split.owner_positive else batches.owner[count > 0]
        refresh(book, live, pending.refresh_to)
    # with a positive price a payer paid something exactly when it had a batch of >= 1 request
    if params.request_price_base_units > 0:
        refresh(book, payer_keys[payer_sums > 0], pending.refresh_to)
    else:
        refresh(book, batches.payer[count > 0], pending.refresh_to)
    return _Paid(bought, split.fees, split.owner_total, split.provider_total, int(count.sum()))


class _Batches(NamedTuple):
    """The request batch columns in int64 (numpy statements compute in their columns' type)."""

    payer: NDArray[np.int64]
    provider: NDArray[np.int64]
    owner: NDArray[np.int64]
    requests: NDArray[np.int64]


def _wide(act: StepActivity) -> _Batches:
    """The batch columns of ``act`` in int64 (the numpy path's; int32 ones are copied)."""
    return _Batches(
        act.request_payer.astype(np.int64, copy=False),
        act.request_provider.astype(np.int64, copy=False),
        act.request_owner.astype(np.int64, copy=False),
        act.request_count.astype(np.int64, copy=False),
    )


class _Paid(NamedTuple):
    """Totals of the request payments (base units; ``requests`` is a count)."""

    bought: int
    fees: int
    owner_rewards: int
    provider_rewards: int
    requests: int


def _pay_requests_compiled(
    book: TokenBook, params: EconomicsParams, act: StepActivity, pending: NodeCredit
) -> _Paid | None:
    """`_pay_requests` in two passes over the batches; None (nothing changed) if it cannot.

    The passes handle counts in ``[0, limit]``, where ``limit`` keeps every product and sum in
    int64 exactly (no wrap), and providers inside the node rows: then a positive count always
    pays the owner and the provider their non-decreasing share of one request or more, so the
    accounts refreshed are exactly those of batches of at least one request, as in the numpy path.
    """
    count, price = act.request_count, params.request_price_base_units
    limit = min(splits.TABLE_MAX, (2**63 - 1) // (max(price, 1) * max(BPS, count.size)))
    if limit < 1:
        return None
    table = split_table(price, params.protocol_fee_bps, params.owner_share_bps, limit)
    s = book.request_scratch()
    s.clean = False
    done = requestsums.sum_requests_jit(
        count, act.request_payer, act.request_owner, table,
        (s.pay_acc, s.own_acc, s.mark, s.pages), (s.payers, s.owners), s.totals,
        bool(table[splits.OWNER_SHARE, 1] <= 0),  # a share of 0 does not tell who was listed: mark
        s.hist[: limit + 1],
    )  # fmt: skip
    if done == kernels.REFUSED:
        s.clean = True  # the pass zeroed what it had touched
        return None
    totals = s.totals.tolist()
    payers, owners = s.payers[: totals[kernels.PAYERS]], s.owners[: totals[kernels.OWNERS]]
    units = splits.provider_units(price, params.protocol_fee_bps, params.owner_share_bps, limit)
    provided = _provider_shares(book, act, table[splits.PROVIDER_SHARE], units, pending.n, s)
    if provided is None:
        kernels.unmark_jit(payers, owners, s.pay_acc, s.own_acc, s.mark)
        s.clean = True
        return None
    # the book changes from here on, in the documented order: payers pay, then owners are credited
    bought = charge(book, payers, s.pay_acc[payers] * price, act.now_step, pending)
    pending.burned += kernels.credit_owners_jit(
        owners, s.own_acc, s.mark, book.balance, book.income, book.expires_at_step,
        pending.refresh_to, pending.n, pending.cutoff,
    )  # fmt: skip
    s.pay_acc[payers] = 0
    refresh(book, payers, pending.refresh_to)
    pending.shares, pending.flagged, pending.share_unit = provided
    pending.scratch = s  # clean again once the node pass has zeroed the shares
    return _Paid(
        bought,
        totals[kernels.FEES],
        totals[kernels.OWNER_TOTAL],
        totals[kernels.PROVIDER_TOTAL],
        totals[kernels.COUNT_TOTAL],
    )


def _provider_shares(
    book: TokenBook,
    act: StepActivity,
    share: NDArray[np.int64],
    units: tuple[int, NDArray[np.int64]],
    nodes: int,
    scratch: RequestScratch,
) -> tuple[kernels.Shares, NDArray[np.bool_] | None, int] | None:
    """Provider shares per node row, who was paid if a share can be 0, and the shares' unit.

    Summed as multiples of ``units[0]`` (their gcd; ``units[1]`` = ``share // units[0]``) in the
    scratch's head viewed as uint8, else as uint16, unless a node's sum outgrows them (then the
    shares in the uint32 scratch, or in int64). None (scratch zero again) if a provider is outside
    the node rows.
    """
    count, provider = act.request_count, act.request_provider
    flagged = _NO_FLAGS
    if share[1] <= 0:  # a share of 0 does not tell who was paid: flag them
        flagged = np.zeros(nodes, dtype=np.bool_)
    unit, multiples = units
    for k, (dtype, cap) in enumerate(_NARROW):
        narrow = scratch.shares.view(dtype)[:nodes]
        if unit > 0 and scratch.narrow_pause[k] == 0 and narrow.size == nodes:
            done = _share_into(count, provider, multiples, narrow, cap, flagged)
            if done == kernels.SHARED:
                return narrow, None if flagged is _NO_FLAGS else flagged, unit
            if done == kernels.OUTSIDE:
                return None
            scratch.narrow_pause[k] = _NARROW_PAUSE
        else:
            scratch.narrow_pause[k] = max(scratch.narrow_pause[k] - 1, 0)
    done = kernels.OVERFLOW
    if scratch.shares.size >= nodes:
        shares: kernels.Shares = scratch.shares[:nodes]
        done = _share_into(count, provider, share, shares, _U32_MAX, flagged)
    if done == kernels.OVERFLOW:
        shares = book.work(nodes)
        shares.fill(0)
        flagged.fill(False)
        done = kernels.share_providers_jit(count, provider, share, shares, _I64_MAX, flagged)
    if done != kernels.SHARED:
        return None
    return shares, None if flagged is _NO_FLAGS else flagged, 1


def _share_into(
    count: kernels.Batch,
    provider: kernels.Batch,
    share: NDArray[np.int64],
    shares: kernels.Shares,
    cap: int,
    flagged: NDArray[np.bool_],
) -> int:
    """The provider pass into a zero scratch, left zero again unless it is done."""
    done = int(kernels.share_providers_jit(count, provider, share, shares, cap, flagged))
    if done != kernels.SHARED:
        shares.fill(0)
    return done


def _payer_sums(
    params: EconomicsParams, batches: _Batches, split: Split
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """What each payer owes for its batches (payers owing nothing are left out)."""
    if split.amount is not None:
        keys, sums = sum_by(batches.payer, split.amount)
        return keys[sums != 0], sums[sums != 0]
    # amount = count * price: group the counts, then price the group sums
    count = batches.requests
    keys, counts = nonzero_sums(batches.payer, count, split.count_max)
    return keys, counts * params.request_price_base_units


def _pay_placements(
    book: TokenBook, params: EconomicsParams, act: StepActivity, pending: NodeCredit
) -> tuple[int, int]:
    """Owners pay the placement price per placement, buying what they lack; (bought, burned)."""
    payer, price = act.placement_payer, params.placement_price_base_units
    if payer.size == 0:
        return 0, 0
    # int64 products and sums, as numpy's group sums of an int64 column of prices wrap
    burned_total = wrap_int64(int(payer.size) * price)
    cost = int(np.int64(price))  # raises beyond int64, as numpy's full() of the prices did
    bought, burned, done = kernels.charge_groups_jit(
        payer, cost, act.now_step, *pending.kernel_args(), book.balance, book.expires_at_step
    )
    if done:
        pending.burned += int(burned)
        return int(bought), burned_total
    keys, sums = sum_by(payer, np.full(payer.size, price, np.int64))  # a payer outside the book
    return charge(book, keys, sums, act.now_step, pending), burned_total


def _apply_nodes(book: TokenBook, pending: NodeCredit, redeem_ppm: int) -> tuple[int, int, int]:
    """Expire, credit, refresh and redeem node rows in one pass; return (burned, redeemed, units).

    Redemption is summed per `CHUNK` rows in int64 and the slices in Python, as numpy did. The pass
    zeroes the provider shares as it reads them.
    """
    chunk_redeemed = np.empty(-(-pending.n // CHUNK), dtype=np.int64)
    shares = pending.shares
    if shares is None:  # providers were paid directly: the clean scratch's shares are all zero
        shares = book.request_scratch().shares
    burned, units = nodepass.apply_nodes_jit(
        pending.units,
        pending.rate,
        shares,
        pending.share_unit,
        pending.flagged,
        pending.cutoff,
        pending.refresh_to,
        redeem_ppm,
        book.balance,
        book.income,
        book.expires_at_step,
        CHUNK,
        chunk_redeemed,
    )
    if pending.scratch is not None:
        pending.scratch.clean = True
    return int(burned), sum(chunk_redeemed.tolist()), int(units)


def settle_step(
    book: TokenBook, controller: ControllerState, params: EconomicsParams, act: StepActivity
) -> StepFlows:
    """Run one economics step on `book` (mutated in place) and return its exact flows.

    Node rows expire and receive their rewards and provider shares in one fused pass at the end,
    together with the redemption; the steps in between expire a node row before they touch it and
    read its balance as if already credited, so the result is exactly that of the order in the
    module docstring.
    """
    now = act.now_step
    rate = params.earn_base_units_per_capacity_step * controller.emission_ppm // PPM
    refresh_to = act.now_step + params.token_lifetime_steps
    cutoff = now - params.refresh_grace_steps
    capacity = act.capacity_units
    if capacity.dtype != np.uint8:  # the compiled pass takes int64 or uint8 units
        capacity = capacity.astype(np.int64, copy=False)
    pending = NodeCredit(capacity, rate, refresh_to, cutoff)
    expired_accounts = expire_accounts(book, pending)
    paid = _pay_requests(book, params, act, pending)
    bought_place, placement_burned = _pay_placements(book, params, act, pending)
    redeem_ppm = params.redeem_ppm if act.redeem_ppm is None else act.redeem_ppm
    burned_nodes, redeemed, units = _apply_nodes(book, pending, redeem_ppm)
    # numpy summed the expired balances in one int64 sum: the parts add up to it modulo 2**64
    expired = wrap_int64(expired_accounts + pending.burned + burned_nodes)
    earned = units * rate
    bought, fees = paid.bought + bought_place, paid.fees
    book.supply_base_units += earned + bought - expired - placement_burned - redeemed - fees
    spent = paid.requests * params.request_price_base_units + placement_burned
    nxt = update_controller(
        controller,
        params,
        supply_base_units=book.supply_base_units,
        active_nodes=act.active_nodes,
        bought_base_units=bought,
        redeemed_base_units=redeemed,
    )
    return StepFlows(
        earned=earned,
        bought=bought,
        expired=expired,
        placement_burned=placement_burned,
        redeemed=redeemed,
        fees=fees,
        provider_rewards=paid.provider_rewards,
        owner_rewards=paid.owner_rewards,
        spent=spent,
        supply=book.supply_base_units,
        controller=nxt,
    )
