"""`PolicyParams`: the frozen, validated knobs of one policy version, with documented defaults.

Built from a plain mapping by `PolicyParams.from_mapping` (files are read outside the pure core, in
`governance.params_file`). Every invalid value raises `InvalidParamsError` naming the dotted field
and,
when known, the source file. `kubernetes_baseline()` expresses a kube-scheduler + descheduler-like
policy (least-allocated scoring, low-utilisation descheduling, no reputation) in the same terms.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from governance.errors import InvalidParamsError
from governance.policy.registry import EVICTOR_NAMES, FILTER_NAMES, SCORER_NAMES

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class ReputationParams:
    """Reputation formula knobs (see `governance.policy.reputation` for the formula)."""

    enabled: bool = True  # False: scores stay as they are, every node counts as ESTABLISHED
    initial: float = 0.0  # score of a new key; 0 so that cycling keys never helps
    tenure_full_s: float = 30 * DAY_S  # tenure factor ramps linearly to 1 over this
    gain_tau_s: float = 7 * DAY_S  # time constant when evidence is above the score (slow gain)
    loss_tau_s: float = 1 * DAY_S  # time constant when evidence is below the score (fast loss)
    weight_uptime: float = 0.4
    weight_jobs: float = 0.4
    weight_sla: float = 0.2
    lie_tolerance: float = 0.1  # reported/observed - 1 above this counts as lying
    lie_penalty: float = 0.5  # multiplicative cut applied at once when lying is detected


@dataclass(frozen=True, slots=True)
class TierParams:
    """Tier thresholds and newcomer quotas."""

    established_reputation: float = 0.5
    established_tenure_s: float = 3 * DAY_S
    trusted_reputation: float = 0.8
    trusted_tenure_s: float = 30 * DAY_S
    stake_gwei_for_established: int = 1_000 * 10**9  # staking 1,000 tokens lifts a newcomer
    newcomer_capacity_fraction: float = 0.25  # share of its capacity a newcomer may hand out
    newcomer_max_replicas: int = 2
    newcomer_max_criticality: int = 0  # Criticality.LOW


@dataclass(frozen=True, slots=True)
class PlacementParams:
    """Placement pipeline: named filters, weighted scorers, mode and sampling knobs."""

    mode: Literal["exact", "sampled"] = "sampled"
    filters: tuple[str, ...] = FILTER_NAMES  # every filter, in the registry's order
    scorers: Mapping[str, float] = field(
        default_factory=lambda: {
            "reputation": 1.0,
            "least_allocated": 1.0,
            "spread": 0.5,
            "locality": 0.25,
        }
    )
    sample_k: int = 6  # candidates per replica per round in sampled mode
    sample_rounds: int = 4  # rounds before a replica is reported unplaceable
    batch_size: int = 262_144  # replicas per optimistic batch in sampled mode
    pool_factor: float = 2.0  # large batches sample from the top pool_factor * batch nodes by key


@dataclass(frozen=True, slots=True)
class EvictionParams:
    """Eviction plugins, thresholds, budgets, notice window and dry-run."""

    plugins: tuple[str, ...] = (
        "node_dead",
        "reputation_floor",
        "node_overloaded",
        "service_unpaid",
        "sla_violations",
    )
    dry_run: bool = False
    notice_s: float = 300.0  # evict at now + notice_s (dead nodes: at once)
    heartbeat_ttl_s: float = 60.0
    reputation_floor: float = 0.1
    overload_fraction: float = 1.0  # used/capacity above this on any resource = overloaded
    sla_violation_limit: int = 3
    underused_fraction: float = 0.2  # consolidation: every resource below this = under-used
    budget_per_node: int = 5
    budget_per_owner: int = 20
    budget_total: int = 1_000
    cooldown_s: float = 600.0  # no placement back on the node a replica was evicted from
    flap_window_s: float = 3_600.0
    flap_max_evictions: int = 10  # per service per window; beyond it the service is held


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """One versioned policy: reputation, tiers, placement and eviction."""

    version: str = "hyperbrick-1"
    reputation: ReputationParams = field(default_factory=ReputationParams)
    tiers: TierParams = field(default_factory=TierParams)
    placement: PlacementParams = field(default_factory=PlacementParams)
    eviction: EvictionParams = field(default_factory=EvictionParams)

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str | None = None) -> PolicyParams:
        """Build params from nested mappings (missing keys keep defaults); errors name the field."""
        return _from_mapping(data, source)

    def to_mapping(self) -> dict[str, Any]:
        """Return nested plain data that `from_mapping` accepts (round-trips)."""
        out = dataclasses.asdict(self)
        out["placement"]["scorers"] = dict(self.placement.scorers)
        return out


def kubernetes_baseline(version: str = "kubernetes-baseline-1") -> PolicyParams:
    """Kube-scheduler + descheduler-like: least-allocated, LowNodeUtilization, no reputation."""
    return PolicyParams(
        version=version,
        reputation=ReputationParams(enabled=False),
        placement=PlacementParams(
            filters=("node_available", "capacity_fit", "region"),
            scorers={"least_allocated": 1.0},
        ),
        eviction=EvictionParams(
            plugins=("node_dead", "node_overloaded", "node_underused"),
            reputation_floor=0.0,
        ),
    )


def _fail(field_name: str, message: str, source: str | None) -> InvalidParamsError:
    where = f" in {source}" if source else ""
    return InvalidParamsError(f"invalid policy params{where}: field '{field_name}': {message}")


def _check_number(name: str, value: object, lo: float, hi: float, source: str | None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"must be a number (got {value!r})", source)
    if math.isnan(value) or not lo <= value <= hi:
        raise _fail(name, f"must be within [{lo}, {hi}] (got {value!r})", source)


_UNIT = (0.0, 1.0)
_NONNEG = (0.0, math.inf)
_POS = (1e-9, math.inf)
_RANGES: dict[str, tuple[float, float]] = {
    "reputation.initial": _UNIT,
    "reputation.tenure_full_s": _POS,
    "reputation.gain_tau_s": _POS,
    "reputation.loss_tau_s": _POS,
    "reputation.weight_uptime": _NONNEG,
    "reputation.weight_jobs": _NONNEG,
    "reputation.weight_sla": _NONNEG,
    "reputation.lie_tolerance": _NONNEG,
    "reputation.lie_penalty": _UNIT,
    "tiers.established_reputation": _UNIT,
    "tiers.established_tenure_s": _NONNEG,
    "tiers.trusted_reputation": _UNIT,
    "tiers.trusted_tenure_s": _NONNEG,
    "tiers.stake_gwei_for_established": _NONNEG,
    "tiers.newcomer_capacity_fraction": _UNIT,
    "tiers.newcomer_max_replicas": _NONNEG,
    "tiers.newcomer_max_criticality": (0, 2),
    "placement.sample_k": (1, 4096),
    "placement.sample_rounds": (1, 64),
    "placement.batch_size": (1, 2**24),
    "placement.pool_factor": (0.1, 1e6),
    "eviction.notice_s": _NONNEG,
    "eviction.heartbeat_ttl_s": _POS,
    "eviction.reputation_floor": _UNIT,
    "eviction.overload_fraction": _POS,
    "eviction.sla_violation_limit": (1, math.inf),
    "eviction.underused_fraction": _UNIT,
    "eviction.budget_per_node": _NONNEG,
    "eviction.budget_per_owner": _NONNEG,
    "eviction.budget_total": _NONNEG,
    "eviction.cooldown_s": _NONNEG,
    "eviction.flap_window_s": _POS,
    "eviction.flap_max_evictions": (1, math.inf),
}
_INTS = {
    "tiers.stake_gwei_for_established",
    "tiers.newcomer_max_replicas",
    "tiers.newcomer_max_criticality",
    "placement.sample_k",
    "placement.sample_rounds",
    "placement.batch_size",
    "eviction.sla_violation_limit",
    "eviction.budget_per_node",
    "eviction.budget_per_owner",
    "eviction.budget_total",
    "eviction.flap_max_evictions",
}


def validate(params: PolicyParams, source: str | None = None) -> None:
    """Raise `InvalidParamsError` naming the first invalid field."""
    if not isinstance(params.version, str) or not params.version:
        raise _fail("version", "must be a non-empty string", source)
    for dotted, (lo, hi) in _RANGES.items():
        section, name = dotted.split(".")
        value = getattr(getattr(params, section), name)
        if dotted in _INTS and (isinstance(value, bool) or not isinstance(value, int)):
            raise _fail(dotted, f"must be an integer (got {value!r})", source)
        _check_number(dotted, value, lo, hi, source)
    for section, name in (("reputation", "enabled"), ("eviction", "dry_run")):
        if not isinstance(getattr(getattr(params, section), name), bool):
            raise _fail(f"{section}.{name}", "must be true or false", source)
    if params.placement.mode not in ("exact", "sampled"):
        raise _fail("placement.mode", "must be 'exact' or 'sampled'", source)
    _check_names("placement.filters", params.placement.filters, FILTER_NAMES, source)
    _check_names("eviction.plugins", params.eviction.plugins, EVICTOR_NAMES, source)
    if not isinstance(params.placement.scorers, Mapping) or not params.placement.scorers:
        raise _fail("placement.scorers", "must map at least one scorer name to a weight", source)
    for name, weight in params.placement.scorers.items():
        if name not in SCORER_NAMES:
            raise _fail(f"placement.scorers.{name}", _unknown(name, SCORER_NAMES), source)
        _check_number(f"placement.scorers.{name}", weight, 0.0, 1e6, source)


def _unknown(name: str, known: tuple[str, ...]) -> str:
    return f"unknown plugin {name!r} (known: {', '.join(known)})"


def _check_names(
    field_name: str, names: object, known: tuple[str, ...], source: str | None
) -> None:
    if not isinstance(names, tuple) or not all(isinstance(n, str) for n in names):
        raise _fail(field_name, "must be a list of plugin names", source)
    for i, name in enumerate(names):
        if name not in known:
            raise _fail(f"{field_name}[{i}]", _unknown(name, known), source)
    if len(set(names)) != len(names):
        raise _fail(field_name, "lists a plugin twice", source)


_SECTIONS: dict[str, type[Any]] = {
    "reputation": ReputationParams,
    "tiers": TierParams,
    "placement": PlacementParams,
    "eviction": EvictionParams,
}


def _section(name: str, cls: type[Any], data: object, source: str | None) -> Any:
    if not isinstance(data, Mapping):
        raise _fail(name, "must be a table/mapping", source)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise _fail(f"{name}.{key}", "unknown field", source)
        if isinstance(value, list):
            value = tuple(value)
        if key == "scorers" and isinstance(value, Mapping):
            value = dict(value)
        kwargs[key] = value
    return cls(**kwargs)


def _from_mapping(data: Mapping[str, Any], source: str | None) -> PolicyParams:
    if not isinstance(data, Mapping):
        raise _fail("<root>", "must be a table/mapping", source)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "version":
            kwargs[key] = value
        elif key in _SECTIONS:
            kwargs[key] = _section(key, _SECTIONS[key], value, source)
        else:
            raise _fail(key, "unknown field", source)
    # Build without validation first so the error can carry the file name.
    params = object.__new__(PolicyParams)
    defaults = PolicyParams()
    for f in dataclasses.fields(PolicyParams):
        object.__setattr__(params, f.name, kwargs.get(f.name, getattr(defaults, f.name)))
    validate(params, source)
    return params
