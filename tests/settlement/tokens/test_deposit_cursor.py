"""The deposit watcher remembers where it stopped: a restart resumes there, `rescan` starts over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settlement.ledger.repository import open_ledger
from settlement.ledger.testing import pg_schema_url
from settlement.tokens.deposits import MAX_BLOCKS_PER_SCAN, DepositWatcher
from settlement.tokens.memory import MemoryCreditLedger, MemoryScanCursors
from settlement.tokens.ports import ScanCursors
from settlement.tokens.store import SqlScanCursors, create_tables

ESCROW = "0x" + "e5" * 20


class ScannedChain:
    """A chain with no escrow logs that records which block ranges were asked for."""

    def __init__(self, head: int) -> None:
        self.head = head
        self.ranges: list[tuple[int, int]] = []

    def block_number(self) -> int:
        return self.head

    def call(self, to: str, data: str) -> bytes:
        raise AssertionError("no escrow is read when there are no logs")

    def request(self, method: str, *params: Any) -> Any:
        assert method == "eth_getLogs"
        self.ranges.append((int(params[0]["fromBlock"], 16), int(params[0]["toBlock"], 16)))
        return []


@pytest.fixture(params=["memory", "sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def cursors(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ScanCursors]:
    if request.param == "memory":
        yield MemoryScanCursors()
        return
    if request.param == "sqlite":
        ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
        create_tables(ledger.engine)
        yield SqlScanCursors(ledger.engine)
        ledger.close()
        return
    with pg_schema_url() as url:
        ledger = open_ledger(url)
        create_tables(ledger.engine)
        yield SqlScanCursors(ledger.engine)
        ledger.close()


def _watcher(chain: ScannedChain, cursors: ScanCursors, **kw: Any) -> DepositWatcher:
    return DepositWatcher(
        chain, MemoryCreditLedger(), chain_id=7, escrow_address=ESCROW, confirmations=2,
        cursors=cursors, **kw,
    )  # fmt: skip


def test_a_restart_resumes_where_the_last_scan_stopped(cursors: ScanCursors) -> None:
    chain = ScannedChain(head=MAX_BLOCKS_PER_SCAN + 502)
    _watcher(chain, cursors, from_block=100).poll()
    safe = chain.head - 2
    assert chain.ranges == [(100, 100 + MAX_BLOCKS_PER_SCAN - 1), (100 + MAX_BLOCKS_PER_SCAN, safe)]
    assert cursors.get(f"deposits:7:{ESCROW}") == safe + 1

    chain.ranges.clear()
    chain.head += 10
    _watcher(chain, cursors, from_block=100).poll()  # restarted: only the new blocks
    assert chain.ranges == [(safe + 1, safe + 10)]

    chain.ranges.clear()
    chain.head += 10
    _watcher(chain, cursors, from_block=safe + 15).poll()  # a later --from-block still wins
    assert chain.ranges == [(safe + 15, safe + 20)]


def test_rescan_starts_at_from_block_and_the_cursor_never_moves_back(
    cursors: ScanCursors,
) -> None:
    chain = ScannedChain(head=60)
    _watcher(chain, cursors).poll()
    assert cursors.get(f"deposits:7:{ESCROW}") == 59
    chain.ranges.clear()
    rescan = _watcher(chain, cursors, from_block=10, rescan=True)
    rescan.poll()
    assert chain.ranges == [(10, 58)]
    cursors.advance(f"deposits:7:{ESCROW}", 20)  # an older position is never stored
    assert cursors.get(f"deposits:7:{ESCROW}") == 59
    assert cursors.get("deposits:7:0x" + "00" * 20) is None  # cursors are per escrow
