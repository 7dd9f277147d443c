"""Policy and economics parameters of a scenario: the Hyperbrick policy or the k8s-like baseline."""

from __future__ import annotations

from typing import Any

from governance.errors import GovernanceError
from governance.policy import PolicyParams, kubernetes_baseline
from settlement.economics import EconomicsParams
from sim.errors import ScenarioError
from sim.scenario import POLICY_NAMES, Scenario

#: Timing knobs a scenario sets for its time scale; the baseline shares them so that comparisons
#: differ in policy, not in clock.
_SHARED_TIMING = ("notice_s", "heartbeat_ttl_s", "cooldown_s", "flap_window_s")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def policy_params(
    scenario: Scenario, policy: str | None = None, source: str = "scenario"
) -> PolicyParams:
    """Build the PolicyParams a run uses (`policy` overrides the scenario's choice)."""
    which = policy or scenario.policy
    if which not in POLICY_NAMES:
        names = " or ".join(POLICY_NAMES)
        raise ScenarioError(f"{source}: policy: unknown policy {which!r} ({names})")
    try:
        if which == "baseline":
            timing = scenario.policy_params.get("eviction", {})
            shared = {k: v for k, v in timing.items() if k in _SHARED_TIMING}
            data = _merge(kubernetes_baseline().to_mapping(), {"eviction": shared})
            return PolicyParams.from_mapping(data, source=source)
        return PolicyParams.from_mapping(scenario.policy_params, source=source)
    except GovernanceError as exc:
        raise ScenarioError(f"{source}: policy_params: {exc}") from None


def economics_params(scenario: Scenario) -> EconomicsParams:
    """The scenario's economics overrides on top of the documented defaults."""
    return EconomicsParams(**scenario.economics)
