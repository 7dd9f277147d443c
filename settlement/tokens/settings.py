"""Token settings from the environment (prefix `HYPERBRICK_TOKENS_`), read only when asked.

Keys are hex strings by key id, e.g. `HYPERBRICK_TOKENS_KEYS='{"k2": "<64+ hex chars>"}'` with
`HYPERBRICK_TOKENS_ACTIVE_KID=k2`. The default mode is `prod`, which refuses the built-in dev
key and a missing key: a service must never start signing with a secret everyone knows;
`HYPERBRICK_TOKENS_MODE=dev` allows the development key. The token tables live in the ledger's
database (`HYPERBRICK_LEDGER_DATABASE_URL`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settlement.tokens.format import MIN_KEY_BYTES, Keyring
from settlement.tokens.verify import MAX_LEEWAY_S

DEV_KID = "dev"
# Well known on purpose: it only ever signs development tokens and is refused outside dev mode.
DEV_KEY_HEX = "6879706572627269636b2d6465762d6b65792d6e6f742d612d7365637265742121"


class TokenSettings(BaseSettings):
    """Signing keys and the lifetime, refresh, skew and cache rules of API tokens."""

    model_config = SettingsConfigDict(env_prefix="HYPERBRICK_TOKENS_", extra="forbid", frozen=True)

    # Secure by default: the development key must be asked for (HYPERBRICK_TOKENS_MODE=dev).
    mode: Literal["dev", "prod"] = Field("prod", description="prod refuses the development key")
    keys: dict[str, SecretStr] = Field(default_factory=dict, description="key id -> hex key")
    active_kid: str = Field(DEV_KID, description="key id that signs new tokens")
    default_lifetime_s: int = Field(3600, gt=0, description="lifetime of an issued token")
    max_lifetime_s: int = Field(30 * 86400, gt=0, description="longest lifetime one may ask for")
    grace_s: int = Field(86400, ge=0, description="how long after expiry a token may be refreshed")
    refresh_price_wei: int = Field(0, ge=0, lt=2**256, description="credit debited per refresh")
    leeway_s: int = Field(30, ge=0, le=MAX_LEEWAY_S, description="clock-skew tolerance")
    revocation_ttl_s: float = Field(5.0, gt=0, le=300, description="revocation cache lifetime")
    verify_cache_max: int = Field(100_000, ge=1, description="verified tokens kept in memory")

    @model_validator(mode="after")
    def _refuse_default_key(self) -> TokenSettings:
        if self.mode == "dev":
            self.keyring()  # fail at start-up, not at the first request
            return self
        if not self.keys:
            raise ValueError(
                "HYPERBRICK_TOKENS_KEYS is empty: set signing keys (hex, by key id) and "
                "HYPERBRICK_TOKENS_ACTIVE_KID, or HYPERBRICK_TOKENS_MODE=dev for the dev key"
            )
        for kid, key in self.keys.items():
            if key.get_secret_value().lower() == DEV_KEY_HEX:
                raise ValueError(f"key {kid!r} is the built-in development key; refused in prod")
        self.keyring()
        return self

    def keyring(self) -> Keyring:
        """Build the keyring (the development key only in dev mode, and only if none is set)."""
        raw = {kid: key.get_secret_value() for kid, key in self.keys.items()}
        if not raw and self.mode == "dev":
            raw = {DEV_KID: DEV_KEY_HEX}
        try:
            keys = {kid: bytes.fromhex(text) for kid, text in raw.items()}
        except ValueError as error:
            raise ValueError(f"HYPERBRICK_TOKENS_KEYS: keys must be hex ({error})") from None
        for kid, key in keys.items():
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"HYPERBRICK_TOKENS_KEYS[{kid!r}] needs >= {MIN_KEY_BYTES} bytes")
        if self.active_kid not in keys:
            raise ValueError(f"HYPERBRICK_TOKENS_ACTIVE_KID={self.active_kid!r} names no key")
        return Keyring(keys, self.active_kid)
