"""The settlement worker: one idempotent tick = net, cut, sign (write-ahead), send, confirm, bump.

Every step reads its input from the ledger and commits its output in one DB transaction, so the
worker can be killed (kill -9) anywhere and a restarted worker carries on without paying twice.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain, max_words_per_tx
from settlement.errors import FatalSettlementError, RetryableSettlementError
from settlement.ledger.models import Payout, UsageEvent
from settlement.ledger.repository import Ledger, open_ledger
from settlement.payouts.batching import cut_batches, net_unsettled
from settlement.payouts.config import SettleSettings
from settlement.payouts.confirmer import ConfirmReport, confirm
from settlement.payouts.sender import (
    PayoutChain,
    broadcast,
    bump_stuck,
    sign_batches,
    sync_nonce_cursor,
)
from settlement.payouts.states import UNPAID


@dataclass(slots=True)
class SettlementWorker:
    """Drives payouts of one ledger through one chain adapter."""

    ledger: Ledger
    chain: PayoutChain
    max_words: int = 500
    resend_after_ms: int = 2_000
    stuck_after_ms: int = 30_000
    net_up_to_period: int | None = None

    def tick(self) -> ConfirmReport:
        """Run every step once; retryable chain faults end the tick early (the next one resumes)."""
        # Every tick: a nonce used by another transaction of this key must never be reused.
        sync_nonce_cursor(self.ledger, self.chain)
        net_unsettled(self.ledger, up_to_period=self.net_up_to_period)
        cut_batches(
            self.ledger,
            chain_id=self.chain.chain_id,
            sender=self.chain.sender,
            max_words=min(self.max_words, max_words_per_tx()),
        )
        while sign_batches(self.ledger, self.chain):
            pass
        broadcast(self.ledger, self.chain, resend_after_ms=self.resend_after_ms)
        report = confirm(self.ledger, self.chain)
        bump_stuck(self.ledger, self.chain, stuck_after_ms=self.stuck_after_ms)
        return report

    def close(self) -> None:
        """Release the ledger's connections and the chain client's, if it has any."""
        self.ledger.close()
        closer = getattr(self.chain.client, "close", None)
        if callable(closer):
            closer()

    def outstanding(self) -> int:
        """Return unsettled usage events plus payouts not yet final."""
        with self.ledger.transaction() as session:
            usage = session.scalar(
                select(func.count()).select_from(UsageEvent).where(UsageEvent.payout_id.is_(None))
            )
            unpaid = session.scalar(
                select(func.count())
                .select_from(Payout)
                .where(Payout.state.in_([str(s) for s in UNPAID]))
            )
            return int(usage or 0) + int(unpaid or 0)

    def run(self, *, until_idle: bool, poll_interval_s: float, timeout_s: float | None) -> int:
        """Tick until nothing is outstanding (or forever); return the ticks run."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        ticks = 0
        while True:
            # A node or DB hiccup ends the tick; the next one resumes from the ledger.
            # (OperationalError: a lock timeout or a dropped database connection.)
            with contextlib.suppress(RetryableSettlementError, OperationalError):
                self.tick()
            ticks += 1
            if until_idle and self.outstanding() == 0:
                return ticks
            if deadline is not None and time.monotonic() > deadline:
                raise RetryableSettlementError(f"payouts still outstanding after {timeout_s} s")
            time.sleep(poll_interval_s)


def build_chain(settings: SettleSettings) -> PayoutChain:
    """Build the chain adapter the settings name (the key comes from the env var they name)."""
    key = os.environ.get(settings.key_env)
    if not key:
        raise FatalSettlementError(f"settler key missing: set ${settings.key_env}")
    if not settings.settlement_address:
        raise FatalSettlementError("settlement_address is not set (HYPERBRICK_SETTLE_...)")
    client = JsonRpcChainClient(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
    adapter = EvmPayoutChain
    if settings.chain_kind == "zksync":
        from settlement.chain.zksync import ZkSyncPayoutChain

        adapter = ZkSyncPayoutChain
    return adapter(
        client,
        chain_id=settings.chain_id,
        settlement_address=settings.settlement_address,
        private_key=key,
        confirmations=settings.confirmations,
        escrow_id=settings.escrow_id,
    )


def build_worker(settings: SettleSettings) -> SettlementWorker:
    """Open the ledger and chain the settings name and wrap them in a worker."""
    return SettlementWorker(
        ledger=open_ledger(settings.database_url),
        chain=build_chain(settings),
        max_words=settings.max_words_per_batch,
        resend_after_ms=int(settings.resend_after_s * 1000),
        stuck_after_ms=int(settings.stuck_after_s * 1000),
    )
