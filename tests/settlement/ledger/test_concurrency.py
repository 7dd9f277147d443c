"""1,000 concurrent submissions with one idempotency key leave one row and move money once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from settlement.ledger import Ledger
from settlement.ledger.models import LedgerEntry, UsageEvent

PAYER = "0x" + "11" * 20
PAYEE = "0x" + "22" * 20
SUBMISSIONS = 1_000


def test_one_key_submitted_concurrently_makes_one_row(ledger: Ledger) -> None:
    ledger.credit(PAYER, 1_000, idempotency_key="dep")

    def submit(_: int) -> bool:
        return ledger.record_usage("same-key", payer=PAYER, payee=PAYEE, amount_wei=7).created

    with ThreadPoolExecutor(max_workers=24) as pool:
        created = list(pool.map(submit, range(SUBMISSIONS)))
    assert created.count(True) == 1
    with ledger.transaction() as session:
        assert session.scalar(select(func.count()).select_from(UsageEvent)) == 1
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 2  # dep + usage
    assert ledger.credit_balance(PAYER) == 993
    assert ledger.pending_payouts(PAYEE) == 7
