"""Hypothesis over the whole engine on the in-memory chain: under any interleaving of usage, ticks,
crashes at any RPC call, dropped / failed-but-mined / timed-out sends, fee bumps, mining and reorgs
shallower than K, every payee ends with exactly what it earned (no double pay, nothing lost) and
the ledger's final batches are exactly the batch ids the contract executed."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from settlement.chain.client import RpcError, RpcTimeoutError
from settlement.chain.evm import EvmPayoutChain
from settlement.chain.fake import FakeChain
from settlement.errors import RetryableSettlementError
from settlement.ledger import open_ledger
from settlement.ledger.models import Batch
from settlement.payouts.states import PayoutState
from settlement.payouts.worker import SettlementWorker

SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
SETTLEMENT = "0x" + "5e" * 20
PAYEES = [f"0x{i:040x}" for i in range(0x3000, 0x3005)]
K = 3
SHM = Path("/dev/shm")  # noqa: S108 - unique file names, removed after each example


class SimulatedCrash(BaseException):
    """Stands for kill -9: nothing in the worker may catch it."""


class FaultyClient:
    """Wraps the fake chain: crashes at the n-th call, and faults the next send on request."""

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain
        self.crash_in: int | None = None
        self.send_fault: str | None = None

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.chain, name)

        def call(*args: Any) -> Any:
            if self.crash_in is not None:
                self.crash_in -= 1
                if self.crash_in < 0:
                    self.crash_in = None
                    raise SimulatedCrash
            if name == "send_raw_transaction" and self.send_fault:
                fault, self.send_fault = self.send_fault, None
                return self._faulty_send(fault, *args)
            return target(*args)

        return call

    def _faulty_send(self, fault: str, raw: str) -> str:
        if fault == "error":
            raise RpcError("eth_sendRawTransaction", -32603, "injected error")
        if fault == "drop":
            from eth_utils.crypto import keccak

            return "0x" + keccak(bytes.fromhex(raw[2:])).hex()
        result = self.chain.send_raw_transaction(raw)
        if fault == "fail_but_mined":
            raise RpcError("eth_sendRawTransaction", -32603, "injected: send failed")
        if fault == "timeout":
            raise RpcTimeoutError("injected timeout after the node took it")
        return result


op = st.one_of(
    st.tuples(st.just("usage"), st.integers(0, len(PAYEES) - 1), st.integers(1, 10**18)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("crash"), st.integers(0, 12)),
    st.tuples(st.just("mine"), st.integers(1, 3)),
    st.tuples(st.just("reorg"), st.integers(1, K - 1)),
    st.tuples(st.just("fault"), st.sampled_from(["drop", "error", "fail_but_mined", "timeout"])),
    st.tuples(st.just("bump")),
)


def _run(tmp_path: Path, ops: list[tuple[Any, ...]], automine: bool) -> None:
    fake = FakeChain(31337, settlement_address=SETTLEMENT, automine=automine)
    fake.mine(K + 2)
    client = FaultyClient(fake)
    chain = EvmPayoutChain(
        client,  # type: ignore[arg-type]
        chain_id=31337, settlement_address=SETTLEMENT, private_key=SETTLER_KEY, confirmations=K,
    )  # fmt: skip
    # RAM-backed when available: this property is about ordering, not about fsync durability.
    folder = SHM if SHM.is_dir() else tmp_path
    path = folder / f"hb-prop-{uuid.uuid4().hex}.db"
    book = open_ledger(f"sqlite:///{path}")
    expected: Counter[str] = Counter()

    def tick(stuck_after_ms: int = 10**9) -> None:
        worker = SettlementWorker(
            book, chain, max_words=3, resend_after_ms=0
        )  # fresh, as after a restart
        worker.stuck_after_ms = stuck_after_ms
        with contextlib.suppress(SimulatedCrash, RetryableSettlementError):
            worker.tick()

    try:
        for index, (kind, *args) in enumerate(ops):
            if kind == "usage":
                book.record_usage(f"u{index}", payee=PAYEES[args[0]], amount_wei=args[1])
                expected[PAYEES[args[0]]] += args[1]
            elif kind == "tick":
                tick()
            elif kind == "crash":
                client.crash_in = args[0]
                tick()
                client.crash_in = None
            elif kind == "mine":
                fake.mine(args[0])
            elif kind == "reorg":
                fake.reorg(args[0])
            elif kind == "fault":
                client.send_fault = args[0]
            else:
                tick(stuck_after_ms=0)
        client.send_fault = None
        drain = SettlementWorker(book, chain, max_words=3, resend_after_ms=0)
        for _ in range(60):
            if not drain.outstanding():
                break
            drain.tick()
            fake.mine(1)
        assert drain.outstanding() == 0
        assert fake.balances() == +expected  # exactly what was earned: no double pay, none lost
        assert set(fake.executed_ids().values()) <= {1}
        with book.transaction() as session:
            final_ids = {
                int(key, 16)
                for key in session.scalars(
                    select(Batch.batch_key).where(Batch.state == PayoutState.FINAL)
                )
            }
        assert final_ids == set(fake.executed_ids())
        for payee in PAYEES:
            assert book.paid_out(payee) == expected[payee]
    finally:
        book.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, max_size=25), automine=st.booleans())
def test_no_double_pay_and_nothing_lost_under_any_interleaving(
    tmp_path: Path, ops: list[tuple[Any, ...]], automine: bool
) -> None:
    _run(tmp_path, ops, automine)


@pytest.mark.fuzz
@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, max_size=60), automine=st.booleans())
def test_no_double_pay_and_nothing_lost_fuzz(
    tmp_path: Path, ops: list[tuple[Any, ...]], automine: bool
) -> None:
    _run(tmp_path, ops, automine)
