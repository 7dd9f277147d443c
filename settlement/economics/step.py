"""One step of the token economy: expire, earn, pay requests, pay placements, redeem, steer.

Order matters and is fixed: (1) balances past expiry plus grace are burned; (2) nodes that are up
earn ``capacity * emission`` and are refreshed; (3) requestors pay each request batch, buying
(minting against a deposit) what their spendable balance lacks; the payment is split into protocol
fee, owner share and provider share; (4) owners pay (burn) the placement price, buying what they
lack; (5) providers redeem part of their balance; (6) the controller moves emission and price. Every
account that receives tokens is refreshed. Conservation: delta supply = earned + bought - expired -
placement - redeemed - fees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from settlement.economics.book import TokenBook, sum_by
from settlement.economics.controller import ControllerState, update_controller
from settlement.economics.params import BPS, PPM, EconomicsParams


def _empty() -> NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class StepActivity:
    """What happened on the network in one step, as account indices and integer counts.

    Provider accounts are rows ``[0, capacity_units.size)`` of the book; a request batch is one
    (payer, provider, owner) triple with a request count.
    """

    now_step: int
    active_nodes: int
    capacity_units: NDArray[np.int64]
    request_payer: NDArray[np.int64] = field(default_factory=_empty)
    request_provider: NDArray[np.int64] = field(default_factory=_empty)
    request_owner: NDArray[np.int64] = field(default_factory=_empty)
    request_count: NDArray[np.int64] = field(default_factory=_empty)
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


def _credit(book: TokenBook, accounts: NDArray[np.int64], amounts: NDArray[np.int64]) -> None:
    np.add.at(book.balance, accounts, amounts)
    np.add.at(book.income, accounts, amounts)


def _charge(book: TokenBook, payers: NDArray[np.int64], costs: NDArray[np.int64], now: int) -> int:
    """Debit grouped costs, buying what the spendable balance lacks; return base units bought."""
    keys, totals = sum_by(payers, costs)
    if keys.size == 0:
        return 0
    spendable = np.where(book.expires_at_step[keys] >= now, book.balance[keys], 0)
    bought = np.maximum(totals - spendable, 0)
    # Expired-but-unspendable balances stay frozen; the purchase covers the whole cost then.
    book.balance[keys] += bought - totals
    return int(bought.sum())


def _expire(book: TokenBook, params: EconomicsParams, now: int) -> int:
    dead = np.flatnonzero(
        (book.expires_at_step + params.refresh_grace_steps < now) & (book.balance > 0)
    )
    burned = int(book.balance[dead].sum())
    book.balance[dead] = 0
    return burned


def _earn(book: TokenBook, params: EconomicsParams, act: StepActivity, emission_ppm: int) -> int:
    rate = params.earn_base_units_per_capacity_step * emission_ppm // PPM
    n = act.capacity_units.size
    reward = act.capacity_units * rate
    book.balance[:n] += reward
    book.income[:n] += reward
    book.expires_at_step[:n] = np.where(
        act.capacity_units > 0, act.now_step + params.token_lifetime_steps, book.expires_at_step[:n]
    )
    return int(reward.sum())


def _pay_requests(
    book: TokenBook, params: EconomicsParams, act: StepActivity
) -> tuple[int, int, int, int]:
    amount = act.request_count * params.request_price_base_units
    bought = _charge(book, act.request_payer, amount, act.now_step)
    fee = amount * params.protocol_fee_bps // BPS
    owner = (amount - fee) * params.owner_share_bps // BPS
    provider = amount - fee - owner
    _credit(book, act.request_owner, owner)
    _credit(book, act.request_provider, provider)
    refreshed = np.concatenate([act.request_owner, act.request_provider, act.request_payer])
    book.expires_at_step[refreshed] = act.now_step + params.token_lifetime_steps
    return bought, int(fee.sum()), int(owner.sum()), int(provider.sum())


def settle_step(
    book: TokenBook, controller: ControllerState, params: EconomicsParams, act: StepActivity
) -> StepFlows:
    """Run one economics step on `book` (mutated in place) and return its exact flows."""
    now = act.now_step
    expired = _expire(book, params, now)
    earned = _earn(book, params, act, controller.emission_ppm)
    bought_req, fees, owner_rewards, provider_rewards = _pay_requests(book, params, act)
    placement_cost = np.full(act.placement_payer.size, params.placement_price_base_units, np.int64)
    bought_place = _charge(book, act.placement_payer, placement_cost, now)
    placement_burned = int(placement_cost.sum())
    redeem_ppm = params.redeem_ppm if act.redeem_ppm is None else act.redeem_ppm
    n = act.capacity_units.size
    redeem = book.balance[:n] * redeem_ppm // PPM
    book.balance[:n] -= redeem
    redeemed = int(redeem.sum())
    bought = bought_req + bought_place
    book.supply_base_units += earned + bought - expired - placement_burned - redeemed - fees
    spent = int(act.request_count.sum()) * params.request_price_base_units + placement_burned
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
        provider_rewards=provider_rewards,
        owner_rewards=owner_rewards,
        spent=spent,
        supply=book.supply_base_units,
        controller=nxt,
    )
