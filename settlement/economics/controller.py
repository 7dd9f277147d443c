"""The token value controller: emission follows network size, price follows net buy pressure.

Emission: the network mints ``earn_base * multiplier`` base units per capacity unit per step to
nodes that are up. Each step the multiplier moves by ``gain * (S* - S) / S*`` where ``S* = target
supply per node * active nodes``: when the network grows 10x, the target supply grows 10x and
emission rises until supply catches up, so tokens per node (hence what a token buys per unit of
capacity) stay stable; when nodes leave, emission falls and expiry shrinks the supply. Bounded by
``emission_min/max_ppm``.

Price: tokens bought by requestors are minted against a deposit, tokens redeemed by providers are
burned against a payout. The price moves by ``price_gain * (bought - redeemed) / supply``, clipped
to ``+- price_max_step_ppm`` per step. All arithmetic is integer (ppm), so it is exact and
reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from settlement.economics.params import PPM, EconomicsParams


@dataclass(frozen=True, slots=True)
class ControllerState:
    """Controller outputs carried from one step to the next."""

    emission_ppm: int
    price_micro: int


def initial_controller(params: EconomicsParams) -> ControllerState:
    """Start at multiplier 1.0 and the configured initial price."""
    return ControllerState(emission_ppm=PPM, price_micro=params.initial_price_micro)


def _clip(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def update_controller(
    state: ControllerState,
    params: EconomicsParams,
    *,
    supply_base_units: int,
    active_nodes: int,
    bought_base_units: int,
    redeemed_base_units: int,
) -> ControllerState:
    """Return the controller state for the next step (integer arithmetic only)."""
    target = params.target_supply_per_node_base_units * max(active_nodes, 1)
    error = target - supply_base_units
    emission = state.emission_ppm + (
        state.emission_ppm * params.emission_gain_ppm * error // (target * PPM)
    )
    emission = _clip(emission, params.emission_min_ppm, params.emission_max_ppm)
    net_flow = bought_base_units - redeemed_base_units
    move_ppm = params.price_gain_ppm * net_flow // max(supply_base_units, 1)
    move_ppm = _clip(move_ppm, -params.price_max_step_ppm, params.price_max_step_ppm)
    anchor = price_anchor(params, active_nodes)
    price = state.price_micro + state.price_micro * move_ppm // PPM
    price += (anchor - price) * params.price_reversion_ppm // PPM
    return ControllerState(emission_ppm=emission, price_micro=max(1, price))


def price_anchor(params: EconomicsParams, active_nodes: int) -> int:
    """The price the controller reverts to: grows with the square root of the network size."""
    scaled = params.initial_price_micro**2 * max(active_nodes, 0) // params.reference_nodes
    return max(1, math.isqrt(scaled))
