"""Settings of the balances API (prefix `HYPERBRICK_BALANCES_`), read only by `create_app`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settlement.ledger.amounts import normalize_address


class BalancesApiSettings(BaseSettings):
    """Where balances come from and how long readings may be served from cache."""

    model_config = SettingsConfigDict(
        env_prefix="HYPERBRICK_BALANCES_", extra="forbid", frozen=True
    )

    database_url: str | None = Field(None, description="ledger URL; None = HYPERBRICK_LEDGER_*")
    chain: Literal["web3", "off", "simulated"] = Field(
        "off",
        description="web3: read the node at rpc_url; off: chain fields are null; "
        "simulated: a fixed-latency fake for benchmarks and demos",
    )
    rpc_url: str | None = Field(None, description="JSON-RPC URL of the chain node")
    token_address: str | None = Field(None, description="the network token (ERC20)")
    escrow_address: str | None = Field(None, description="the settlement/escrow contract")
    escrow_from_block: int = Field(0, ge=0, description="first block to scan for escrow deposits")
    chain_timeout_s: float = Field(1.0, gt=0, le=30, description="give up on a chain read after")
    chain_cache_ttl_s: float = Field(5.0, ge=0, description="serve a chain reading this long")
    ledger_cache_ttl_s: float = Field(1.0, ge=0, description="serve a ledger reading this long")
    simulated_latency_s: float = Field(0.002, ge=0, description="latency of the simulated chain")
    cache_max_addresses: int = Field(100_000, ge=1, description="bounded memory of the caches")

    @model_validator(mode="after")
    def _check_chain(self) -> BalancesApiSettings:
        if self.chain == "web3":
            if not (self.rpc_url and self.token_address):
                raise ValueError("chain=web3 needs HYPERBRICK_BALANCES_RPC_URL and _TOKEN_ADDRESS")
            normalize_address(self.token_address, field="token_address")
            if self.escrow_address is not None:
                normalize_address(self.escrow_address, field="escrow_address")
        return self
