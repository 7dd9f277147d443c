"""Settlement worker configuration (prefix `HYPERBRICK_SETTLE_`), read only when asked."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettleSettings(BaseSettings):
    """Which chain, contract and key the worker pays through, and its timing."""

    model_config = SettingsConfigDict(env_prefix="HYPERBRICK_SETTLE_", extra="forbid")

    database_url: str = "sqlite:///hyperbrick-ledger.db"
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = 31337
    # "evm" (an L1: final after K blocks) or "zksync" (K blocks = sequencer-confirmed only).
    chain_kind: str = Field(default="evm", pattern="^(evm|zksync)$")
    settlement_address: str = ""
    # The NAME of the environment variable holding the settler key, never the key itself.
    key_env: str = "HYPERBRICK_SETTLER_KEY"
    escrow_id: int | None = None
    confirmations: int = Field(default=12, ge=1)
    max_words_per_batch: int = Field(default=500, ge=1)
    resend_after_s: float = 2.0
    stuck_after_s: float = 30.0
    poll_interval_s: float = 0.2
    rpc_timeout_s: float = 5.0
