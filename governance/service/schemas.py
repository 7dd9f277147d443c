"""Request and response bodies of the governance API: validation happens here, at the edge."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governance.policy.types import RESOURCE_NAMES

MAX_UINT256 = 2**256 - 1

NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class Strict(BaseModel):
    """Base: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(Strict):
    """An amount of every resource, in the units its name carries."""

    cpu_millicores: NonNegative
    memory_mib: NonNegative
    disk_mib: NonNegative = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        """Return the values in `RESOURCE_NAMES` order (the policy's column order)."""
        return tuple(float(getattr(self, name)) for name in RESOURCE_NAMES)


def parse_wei(value: object) -> int:
    """Parse a decimal-string amount in wei, 0 <= amount < 2**256."""
    if not isinstance(value, str) or not value.isdigit() or not value.isascii():
        raise ValueError('amounts are decimal strings of wei, e.g. "1000000000000000000"')
    amount = int(value)
    if amount > MAX_UINT256:
        raise ValueError("amount does not fit in uint256")
    return amount


class NodeRegistration(Strict):
    """A node joining the network (signed by its key pair)."""

    region: int = Field(ge=0, le=2**31 - 1)
    failure_domain: int = Field(ge=0, le=2**31 - 1)
    capacity: Resources
    stake_wei: str = "0"

    @field_validator("stake_wei")
    @classmethod
    def _stake_is_wei(cls, value: str) -> str:
        parse_wei(value)
        return value


class HeartbeatReport(Strict):
    """A node's periodic metrics report."""

    used: Resources
    reported_capacity: Resources | None = None
    healthy: bool = True
    jobs_succeeded: int = Field(0, ge=0, le=2**31 - 1)
    jobs_failed: int = Field(0, ge=0, le=2**31 - 1)
    sla_violations: int = Field(0, ge=0, le=2**31 - 1)


class ServiceRequest(Strict):
    """An owner asking to place a service (long-lived) or a task (batch, with a duration)."""

    name: str = Field(min_length=1, max_length=128)
    demand: Resources
    replicas: int = Field(1, ge=1, le=10_000)
    kind: Literal["service", "task"] = "service"
    duration_s: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    criticality: Literal["low", "normal", "high"] = "normal"
    region: int | None = Field(None, ge=0, le=2**31 - 1)
    depends_on: list[int] = Field(default_factory=list, max_length=64)

    @field_validator("duration_s")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("duration_s must be finite")
        return value


class NodeView(Strict):
    """A node as the API reports it."""

    address: str
    region: int
    failure_domain: int
    tier: Literal["newcomer", "established", "trusted"]
    reputation: float
    healthy: bool
    draining: bool
    replicas_held: int
    capacity: Resources
    used: Resources
    stake_wei: str


class ReplicaView(Strict):
    """Where one replica of a service runs."""

    replica_id: int
    node: str | None
    evictions: int
    evict_at_s: float | None


class ServiceView(Strict):
    """A service and its replicas."""

    service_id: int
    name: str
    owner: str
    kind: str
    replicas: list[ReplicaView]


class CycleSummary(Strict):
    """What one governance cycle decided, counted by reason."""

    params_version: str
    now_s: float
    dry_run: bool
    placed: int
    unplaceable: int
    placement_reasons: dict[str, int]
    evictions_by_outcome: dict[str, int]
    evictions_by_reason: dict[str, int]


class WhyNot(Strict):
    """Why a replica is not (or would not be) placed on a node."""

    replica_id: int
    node: str
    feasible: bool
    failing_filters: list[str]
    score: float
    factors: dict[str, float]
    best_node: str | None
    best_score: float
    score_gap: float


class ErrorBody(Strict):
    """Every error the API returns: a stable code and a human sentence."""

    error: str
    detail: str
