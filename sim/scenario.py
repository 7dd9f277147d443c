"""Scenario files: the pydantic schema at the simulator's edge and the loader that names bad fields.

A scenario carries its seed, sizes, steps, adversary mix, churn, demand, shocks, policy choice and
parameters, economics overrides and the KPI bounds the tests check. A bad file fails with one line
naming the file, the field and the reason (a `ScenarioError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import ScenarioError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sizes(_Strict):
    """Network size and run length."""

    nodes: int = Field(ge=10, le=10**10)
    steps: int = Field(ge=1, le=100_000)
    #: Services per 100 nodes (long-lived ones and batch tasks together).
    services_per_100_nodes: float = Field(default=20.0, gt=0, le=1_000)
    regions: int = Field(default=8, ge=1, le=4096)
    requestors: int = Field(default=16, ge=1)


class Adversaries(_Strict):
    """Share of node identities per behaviour (the rest are honest)."""

    flaky: float = Field(default=0.0, ge=0, le=1)
    liar: float = Field(default=0.0, ge=0, le=1)
    sybil: float = Field(default=0.0, ge=0, le=1)
    ring: float = Field(default=0.0, ge=0, le=1)
    #: Probability per step that a flaky node is down.
    flaky_outage_p: float = Field(default=0.2, ge=0, le=1)
    #: A liar reports this multiple of its true capacity.
    liar_overreport: float = Field(default=2.0, ge=1, le=100)
    #: A Sybil drops its key and rejoins as a newcomer when its reputation falls below this.
    sybil_rejoin_below: float = Field(default=0.3, ge=0, le=1)
    #: Probability per step that a Sybil node fails the work it hosts (it games, not serves).
    sybil_fail_p: float = Field(default=0.5, ge=0, le=1)
    #: Nodes per colluding ring; rings send fake requests to services their owners run on the ring.
    ring_size: int = Field(default=8, ge=2)
    #: Fake (wash) requests per ring service per step.
    ring_wash_requests: int = Field(default=20, ge=0)

    @model_validator(mode="after")
    def _shares_sum(self) -> Adversaries:
        if self.flaky + self.liar + self.sybil + self.ring > 1.0 + 1e-9:
            raise ValueError("flaky + liar + sybil + ring must be <= 1")
        return self


class Churn(_Strict):
    """Churn: a node leaves with `leave_p` per step; new identities join to keep the target size."""

    leave_p: float = Field(default=0.002, ge=0, le=1)
    #: Final size / initial size, reached linearly over the run (growth scenario: 10).
    growth_factor: float = Field(default=1.0, ge=1, le=1_000)


class Demand(_Strict):
    """Requests and workload."""

    requests_per_service_step: float = Field(default=20.0, ge=0)
    replicas: int = Field(default=3, ge=1, le=64)
    task_share: float = Field(default=0.2, ge=0, le=1)
    task_duration_steps: int = Field(default=10, ge=1)
    cpu_per_replica_millicores: int = Field(default=500, ge=1)
    #: Mean number of other services each service depends on.
    dependencies_mean: float = Field(default=1.0, ge=0, le=16)


class Window(_Strict):
    """An event active on steps [start_step, start_step + duration_steps)."""

    start_step: int = Field(ge=0)
    duration_steps: int = Field(ge=1)


class FlashCrowd(Window):
    """Request demand multiplied during the window."""

    multiplier: float = Field(gt=0, le=10_000)


class RegionalOutage(Window):
    """Every node in `region` is down during the window."""

    region: int = Field(ge=0)


class EconomicShock(Window):
    """Providers dump tokens (redeem share) and demand drops during the window."""

    redeem_ppm: int = Field(ge=0, le=1_000_000)
    demand_multiplier: float = Field(default=1.0, ge=0)


class Bound(_Strict):
    """Inclusive KPI bounds; either side may be open."""

    min: float | None = None
    max: float | None = None


PolicyName = Literal["hyperbrick", "baseline"]
POLICY_NAMES: tuple[str, ...] = get_args(PolicyName)


class Scenario(_Strict):
    """A whole scenario file."""

    name: str = Field(min_length=1)
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    policy: PolicyName = "hyperbrick"
    #: Simulated seconds per step (the policy's time constants are in seconds).
    step_s: float = Field(default=600.0, gt=0, le=86_400)
    sizes: Sizes
    #: Smaller sizes for the default test lane; the full sizes run under the `slow` marker.
    fast_sizes: Sizes | None = None
    test_seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    adversaries: Adversaries = Adversaries()
    churn: Churn = Churn()
    demand: Demand = Demand()
    flash_crowd: FlashCrowd | None = None
    regional_outage: RegionalOutage | None = None
    economic_shock: EconomicShock | None = None
    #: Overrides of governance.policy's PolicyParams (validated by the policy core itself).
    policy_params: dict[str, Any] = Field(default_factory=dict)
    #: Overrides of settlement.economics.EconomicsParams.
    economics: dict[str, int] = Field(default_factory=dict)
    expected: dict[str, Bound] = Field(default_factory=dict)


def _loc(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "<root>"


def parse_scenario(data: Any, source: str) -> Scenario:
    """Validate already-parsed data; errors name `source`, the field and the reason."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: <root>: expected a mapping, got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ScenarioError(f"{source}: {_loc(first)}: {first['msg']}{more}") from None
    _check_economics(scenario, source)
    _check_windows(scenario, source)
    return scenario


def _check_economics(scenario: Scenario, source: str) -> None:
    from settlement.economics import EconomicsParams, EconomicsParamsError

    try:
        EconomicsParams(**scenario.economics)
    except TypeError as exc:
        raise ScenarioError(f"{source}: economics: {exc}") from None
    except EconomicsParamsError as exc:
        raise ScenarioError(f"{source}: economics.{exc}") from None


def _check_windows(scenario: Scenario, source: str) -> None:
    outage = scenario.regional_outage
    if outage is not None and outage.region >= scenario.sizes.regions:
        raise ScenarioError(
            f"{source}: regional_outage.region: {outage.region} is not a region "
            f"(sizes.regions = {scenario.sizes.regions})"
        )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario by path, or by name from the bundled `scenarios/` folder."""
    path = Path(name_or_path)
    if not path.exists() and not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"{name_or_path}: no such scenario file (bundled: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "<root>"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}: {where}: not valid YAML ({problem})") from None
    return parse_scenario(data, str(path))


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped in `scenarios/`."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
