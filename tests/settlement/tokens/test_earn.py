"""Earning credit from contribution reports: the economics rule, once per node and period."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.economics.params import PPM, EconomicsParams
from settlement.ledger import open_ledger
from settlement.tokens.earn import (
    WEI_PER_BASE_UNIT,
    ContributionReport,
    InvalidContributionError,
    credit_contribution,
    credit_contributions,
    earned_wei,
)
from settlement.tokens.memory import MemoryCreditLedger
from settlement.tokens.wiring import LedgerCredits

NODE = "0x" + "c3" * 20


def test_full_uptime_earns_the_economics_reward() -> None:
    params = EconomicsParams()
    report = ContributionReport(NODE, period=7, capacity_units=4, uptime_ppm=PPM)
    expected = 4 * params.earn_base_units_per_capacity_step * WEI_PER_BASE_UNIT
    assert earned_wei(report, params) == expected
    assert earned_wei(report, params, emission_ppm=PPM // 2) == expected // 2


def test_credit_is_applied_once_per_period() -> None:
    ledger = MemoryCreditLedger()
    report = ContributionReport(NODE.upper().replace("0X", "0x"), 1, 2, PPM)
    first = credit_contribution(ledger, report)
    assert first > 0
    assert credit_contribution(ledger, report) == 0
    assert ledger.credit_balance(NODE) == first
    credit_contribution(ledger, ContributionReport(NODE, 2, 2, PPM))
    assert ledger.credit_balance(NODE) == 2 * first


@given(st.integers(0, 10**6), st.integers(0, PPM), st.integers(0, PPM))
def test_reward_is_monotone_in_uptime_and_capacity(cap: int, up_a: int, up_b: int) -> None:
    params = EconomicsParams()
    low, high = sorted((up_a, up_b))
    assert earned_wei(ContributionReport(NODE, 0, cap, low), params) <= earned_wei(
        ContributionReport(NODE, 0, cap, high), params
    )
    assert earned_wei(ContributionReport(NODE, 0, cap, high), params) <= earned_wei(
        ContributionReport(NODE, 0, cap + 1, high), params
    )


def test_bad_reports_are_refused() -> None:
    with pytest.raises(InvalidContributionError):
        ContributionReport(NODE, 0, 1, PPM + 1)
    with pytest.raises(InvalidContributionError):
        ContributionReport(NODE, -1, 1, PPM)
    with pytest.raises(ValueError, match="address"):
        credit_contribution(MemoryCreditLedger(), ContributionReport("nope", 0, 1, PPM))


def test_batch_credit_equals_one_report_at_a_time(tmp_path: Path) -> None:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    nodes = ["0x" + f"{i:040x}" for i in range(1, 40)]
    reports = [ContributionReport(a, 3, i % 5, (i * 37_000) % PPM) for i, a in enumerate(nodes)]
    one_by_one = MemoryCreditLedger()
    expected = sum(credit_contribution(one_by_one, r) for r in reports)
    credits = LedgerCredits(ledger)
    assert expected > 0
    assert credit_contributions(credits, reports) == expected
    assert credit_contributions(credits, reports) == 0  # the period was credited already
    assert [ledger.credit_balance(a) for a in nodes] == [
        one_by_one.credit_balance(a) for a in nodes
    ]
    ledger.close()
