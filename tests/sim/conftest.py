"""Shared fixtures for simulator tests: small scenarios built in code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.scenario import Scenario, parse_scenario

TINY_POLICY = {
    "reputation": {"tenure_full_s": 14400, "gain_tau_s": 7200, "loss_tau_s": 1800},
    "tiers": {"established_tenure_s": 3600, "trusted_tenure_s": 14400},
    "eviction": {
        "notice_s": 600,
        "heartbeat_ttl_s": 1300,
        "cooldown_s": 3600,
        "flap_window_s": 7200,
    },
}


def tiny(**overrides: Any) -> Scenario:
    """A small scenario (300 nodes, 15 steps); keyword arguments replace top-level fields."""
    data: dict[str, Any] = {
        "name": "tiny",
        "seed": 7,
        "sizes": {"nodes": 300, "steps": 15, "requestors": 4},
        "adversaries": {"flaky": 0.1, "sybil": 0.1, "liar": 0.05, "ring": 0.05},
        "churn": {"leave_p": 0.01},
        "policy_params": TINY_POLICY,
    }
    data.update(overrides)
    return parse_scenario(data, "tiny")


@pytest.fixture
def make_tiny() -> Callable[..., Scenario]:
    return tiny


@pytest.fixture
def tiny_scenario() -> Scenario:
    return tiny()
