"""Ledger configuration from the environment (prefix `HYPERBRICK_LEDGER_`), read only when asked."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    """Where the ledger lives and how long a writer waits for the SQLite lock."""

    model_config = SettingsConfigDict(env_prefix="HYPERBRICK_LEDGER_", extra="forbid")

    # SQLite by default; PostgreSQL with e.g. postgresql+psycopg://user@127.0.0.1:5432/test
    database_url: str = "sqlite:///hyperbrick-ledger.db"
    busy_timeout_s: float = 30.0
    migrate_on_open: bool = True
