"""Earning credit: governance reports a node's resource contribution; its owner is credited once.

The reward follows `settlement.economics` (the simulator uses the same rule): capacity units (CPU
cores) times the per-capacity-step reward times the emission multiplier, scaled by the fraction of
the period the node was up, converted from base units to wei at the chain edge. Governance credits
every node of a period at once (`credit_contributions`, one ledger transaction); the idempotency
key per node and period makes repeats harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from settlement.economics.params import BASE_UNITS_PER_TOKEN, PPM, EconomicsParams
from settlement.errors import FatalSettlementError
from settlement.ledger.amounts import normalize_address
from settlement.tokens.ports import CreditLedger

WEI_PER_TOKEN = 10**18
WEI_PER_BASE_UNIT = WEI_PER_TOKEN // BASE_UNITS_PER_TOKEN


class InvalidContributionError(FatalSettlementError, ValueError):
    """A contribution report with out-of-range fields."""


@dataclass(frozen=True, slots=True)
class ContributionReport:
    """What governance observed of one node over one period (integers only)."""

    address: str
    period: int
    capacity_units: int
    uptime_ppm: int

    def __post_init__(self) -> None:
        if self.period < 0 or self.capacity_units < 0:
            raise InvalidContributionError("period and capacity_units must be >= 0")
        if not 0 <= self.uptime_ppm <= PPM:
            raise InvalidContributionError(f"uptime_ppm must be in [0, {PPM}]")


def earned_wei(report: ContributionReport, params: EconomicsParams, emission_ppm: int = PPM) -> int:
    """Return the credit (wei) a contribution earns: capacity x uptime x reward x emission."""
    rate = params.earn_base_units_per_capacity_step * emission_ppm // PPM
    base_units = report.capacity_units * rate * report.uptime_ppm // PPM
    return base_units * WEI_PER_BASE_UNIT


def _earn_entry(
    report: ContributionReport, params: EconomicsParams, emission_ppm: int
) -> tuple[str, int, str, str] | None:
    """The ledger credit of one report as ``(address, wei, idempotency key, reason)``, or None."""
    address = normalize_address(report.address)  # checked even when nothing is earned
    amount = earned_wei(report, params, emission_ppm)
    if amount == 0:
        return None
    return address, amount, f"earn:{address}:{report.period}", "contribution"


def credit_contribution(
    credits: CreditLedger,
    report: ContributionReport,
    params: EconomicsParams | None = None,
    emission_ppm: int = PPM,
) -> int:
    """Credit the node owner for one period once; return the wei credited (0 on a repeat)."""
    entry = _earn_entry(report, params or EconomicsParams(), emission_ppm)
    if entry is None:
        return 0
    return entry[1] if credits.credit(*entry) else 0


def credit_contributions(
    credits: CreditLedger,
    reports: Iterable[ContributionReport],
    params: EconomicsParams | None = None,
    emission_ppm: int = PPM,
) -> int:
    """`credit_contribution` for many nodes in one ledger call; return the wei newly credited."""
    params = params or EconomicsParams()
    entries = [e for r in reports if (e := _earn_entry(r, params, emission_ppm)) is not None]
    created = credits.credit_many(entries)
    return sum(amount for (_, amount, _, _), new in zip(entries, created, strict=True) if new)
