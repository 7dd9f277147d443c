"""Validated parameters of the token economy; every default is documented next to its field."""

from __future__ import annotations

from dataclasses import dataclass, fields

from settlement.errors import FatalSettlementError

#: One token is 10**6 base units (like a 6-decimal stablecoin). On-chain amounts are wei (10**18 per
#: token): multiply by 10**12 at the chain edge. Balances are never floats.
BASE_UNITS_PER_TOKEN = 10**6
BPS = 10_000
PPM = 1_000_000


class EconomicsParamsError(FatalSettlementError, ValueError):
    """Economics parameters are invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class EconomicsParams:
    """Knobs of the token economy: integers (base units, steps, basis points, ppm)."""

    #: Credits expire this many steps after they were last refreshed (earned, bought or received).
    token_lifetime_steps: int = 96
    #: An expired balance stays refreshable this many steps after expiry while its holder earns.
    refresh_grace_steps: int = 12
    #: Share of every request payment kept by the protocol treasury (basis points).
    protocol_fee_bps: int = 500
    #: Share of the post-fee payment that goes to the service owner; the rest goes to providers.
    owner_share_bps: int = 3_000
    #: Price of one request in base units when the network has `reference_nodes` nodes.
    request_price_base_units: int = 2_000
    #: Price of one replica placement (burned), in base units.
    placement_price_base_units: int = 20_000
    #: Contribution reward per capacity unit (one CPU core) per step at emission multiplier 1.0.
    earn_base_units_per_capacity_step: int = 1_000
    #: Target circulating supply per active node; the emission controller steers towards it.
    target_supply_per_node_base_units: int = 2 * BASE_UNITS_PER_TOKEN
    #: Proportional gain of the emission controller (ppm of the relative supply error per step).
    emission_gain_ppm: int = 200_000
    #: Bounds of the emission multiplier (ppm of the base reward).
    emission_min_ppm: int = 10_000
    emission_max_ppm: int = 20_000_000
    #: Token price at step 0 in micro reference units (1_000_000 = one reference unit per token).
    initial_price_micro: int = 1_000_000
    #: Gain of the price response to net buy pressure (ppm of the relative net flow).
    price_gain_ppm: int = 2_000_000
    #: A step never moves the price by more than this (ppm), like a circuit breaker.
    price_max_step_ppm: int = 100_000
    #: Share of the gap to the network-size anchor the price closes per step (ppm).
    price_reversion_ppm: int = 100_000
    #: Network size at which the anchor equals `initial_price_micro`; the anchor scales with
    #: sqrt(active nodes / reference_nodes) (more nodes, more useful capacity per token).
    reference_nodes: int = 10_000
    #: Share of their balance that providers cash out (redeem) per step (ppm).
    redeem_ppm: int = 20_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise EconomicsParamsError(f"{field.name}: must be an integer, got {value!r}")
            if value < 0:
                raise EconomicsParamsError(f"{field.name}: must be >= 0, got {value}")
        for name in ("protocol_fee_bps", "owner_share_bps"):
            if getattr(self, name) > BPS:
                raise EconomicsParamsError(f"{name}: must be <= {BPS} basis points")
        if self.redeem_ppm > PPM:
            raise EconomicsParamsError(f"redeem_ppm: must be <= {PPM}")
        if self.emission_min_ppm > self.emission_max_ppm:
            raise EconomicsParamsError("emission_min_ppm: must be <= emission_max_ppm")
        if self.token_lifetime_steps == 0:
            raise EconomicsParamsError("token_lifetime_steps: must be >= 1")
        if self.price_reversion_ppm > PPM:
            raise EconomicsParamsError(f"price_reversion_ppm: must be <= {PPM}")
        if self.reference_nodes == 0:
            raise EconomicsParamsError("reference_nodes: must be >= 1")
        if self.initial_price_micro == 0:
            raise EconomicsParamsError("initial_price_micro: must be >= 1")
