"""Settings of the governance service (env prefix HYPERBRICK_GOV_), read only by create_app."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret"  # noqa: S105 - the known default that production must replace


class ServiceSettings(BaseSettings):
    """Configuration of one governance service process."""

    model_config = SettingsConfigDict(env_prefix="HYPERBRICK_GOV_", extra="forbid", frozen=True)

    dev_mode: bool = Field(False, description="allow the default secret and verbose errors")
    admin_token: str = Field(DEV_SECRET, description="bearer token for operator calls (cycles)")
    database_url: str = Field("sqlite:///hyperbrick-governance.db", description="SQLAlchemy URL")
    params_file: Path | None = Field(None, description="PolicyParams TOML/YAML; None = defaults")
    seed: int = Field(0, ge=0, description="seed of the policy RNG (one Generator per process)")
    cycle_interval_s: float = Field(
        0.0, ge=0.0, description="run a governance cycle every N seconds; 0 = only on request"
    )
    max_clock_skew_s: float = Field(
        30.0, gt=0.0, description="how far a signed request's timestamp may be from ours"
    )
    heartbeat_interval_s: float = Field(
        10.0,
        gt=0.0,
        description="how often nodes are expected to report (uptime = received/expected)",
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> ServiceSettings:
        if not self.dev_mode and self.admin_token == DEV_SECRET:
            raise ValueError(
                "HYPERBRICK_GOV_ADMIN_TOKEN is the built-in development secret; set a real one "
                "or HYPERBRICK_GOV_DEV_MODE=true"
            )
        if len(self.admin_token) < 16:
            raise ValueError("HYPERBRICK_GOV_ADMIN_TOKEN must be at least 16 characters")
        return self
