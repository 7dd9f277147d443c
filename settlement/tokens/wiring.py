"""Real adapters and assembly: the ledger as the credit port, the system clock, a ready service."""

from __future__ import annotations

import time
from collections.abc import Sequence

from settlement.ledger.repository import Ledger, open_ledger
from settlement.tokens.service import TokenPolicy, TokenService
from settlement.tokens.settings import TokenSettings
from settlement.tokens.store import SqlTokenStore, create_tables


class SystemClock:
    """The wall clock (the only place the token service reads time)."""

    def now(self) -> float:
        return time.time()


class LedgerCredits:
    """`CreditLedger` over the settlement ledger's repository."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def credit_balance(self, address: str) -> int:
        return self.ledger.credit_balance(address)

    def pending_payouts(self, address: str) -> int:
        return self.ledger.pending_payouts(address)

    def credit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        return self.ledger.credit(
            address, amount_wei, idempotency_key=idempotency_key, reason=reason
        ).created

    def debit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        return self.ledger.debit(
            address, amount_wei, idempotency_key=idempotency_key, reason=reason
        ).created

    def credit_many(self, entries: Sequence[tuple[str, int, str, str]]) -> list[bool]:
        return self.ledger.credit_many(entries)


def build_token_service(settings: TokenSettings, ledger: Ledger) -> TokenService:
    """Build a token service on the ledger's database (token tables must exist)."""
    return TokenService(
        keyring=settings.keyring(),
        store=SqlTokenStore(ledger.engine),
        credits=LedgerCredits(ledger),
        clock=SystemClock(),
        policy=TokenPolicy.from_settings(settings),
    )


def open_token_service(
    settings: TokenSettings | None = None, *, database_url: str | None = None
) -> tuple[TokenService, Ledger]:
    """Open the ledger (migrated), create the token tables, and build a token service on them."""
    ledger = open_ledger(database_url)
    create_tables(ledger.engine)
    return build_token_service(settings or TokenSettings(), ledger), ledger
