"""Balances of one address from the chain (token, escrow) and the ledger (credit, pending payouts).

Chain and ledger reads are blocking I/O: they run in a small thread pool behind a per-address TTL
cache with single-flight loading (concurrent misses for one address share one read) and a timeout.
When a read times out or fails, the last reading is served and marked stale; with no reading at
all the request fails with 503 rather than hanging.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from settlement.api.errors import SourceUnavailableError
from settlement.errors import RetryableSettlementError, SettlementError

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ChainBalances:
    """On-chain holdings of one address at one block."""

    token_wei: int
    escrow_wei: int
    block_number: int


@dataclass(frozen=True, slots=True)
class LedgerBalances:
    """Off-chain holdings of one address in the ledger."""

    credit_wei: int
    pending_payouts_wei: int


class ChainBalanceReader(Protocol):
    """Port: read token and escrow balances of an address (blocking; may raise SettlementError)."""

    def read(self, address: str) -> ChainBalances: ...


class LedgerReader(Protocol):
    """Port: the two ledger queries the endpoint needs (blocking)."""

    def credit_balance(self, address: str) -> int: ...

    def pending_payouts(self, address: str) -> int: ...


class SimulatedChain:
    """A chain stand-in with fixed latency and balances derived from the address (benchmarks)."""

    def __init__(self, latency_s: float = 0.002) -> None:
        self.latency_s = latency_s

    def read(self, address: str) -> ChainBalances:
        time.sleep(self.latency_s)
        seed = int(address[-8:], 16)
        return ChainBalances(token_wei=seed * 10**12, escrow_wei=seed * 10**9, block_number=1)


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    fresh_until_s: float
    usable_until_s: float


class TtlCache(Generic[V]):
    """Per-key readings kept about `ttl_s`, loaded once per key at a time, with a load timeout.

    A reading older than its time to live but younger than twice that is served at once while one
    background load refreshes it (stale-while-revalidate): no request waits on I/O for a key that
    is read steadily. Each reading's time to live is spread by +-10 % so that keys loaded together
    are not all refreshed together.
    """

    def __init__(
        self,
        source: str,
        load: Callable[[str], Awaitable[V]],
        ttl_s: float,
        timeout_s: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._load = load
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.max_entries = max_entries
        self._clock = clock
        self._jitter = random.Random()  # noqa: S311 - spreads refresh times, not a secret
        self._entries: dict[str, _Entry[V]] = {}
        self._inflight: dict[str, asyncio.Future[V]] = {}

    def peek(self, key: str) -> V | None:
        """Return a usable reading without waiting (refreshing it in the background if due)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        now_s = self._clock()
        if now_s < entry.fresh_until_s:
            return entry.value
        if now_s < entry.usable_until_s:
            self._start_load(key)
            return entry.value
        return None

    async def get(self, key: str) -> tuple[V, bool]:
        """Return (value, stale): cached, freshly loaded, or stale after a failed load."""
        value = self.peek(key)
        if value is not None:
            return value, False
        entry = self._entries.get(key)
        future = self._start_load(key)
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s), False
        except (TimeoutError, SettlementError) as error:
            if entry is not None:
                return entry.value, True
            reason = str(error) or f"no answer within {self.timeout_s} s"
            raise SourceUnavailableError(f"{self.source} reading of {key}: {reason}") from None

    def _start_load(self, key: str) -> asyncio.Future[V]:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fill(key))
            # Mark a failure as seen even when every waiter already gave up on this load.
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._inflight[key] = future
        return future

    async def _fill(self, key: str) -> V:
        try:
            value = await self._load(key)
        finally:
            self._inflight.pop(key, None)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bounded memory; the next reads refill
        now_s = self._clock()
        ttl_s = self.ttl_s * self._jitter.uniform(0.9, 1.1)
        self._entries[key] = _Entry(value, now_s + ttl_s, now_s + 2 * ttl_s)
        return value


@dataclass(frozen=True, slots=True)
class BalanceView:
    """Everything the endpoint returns for one address."""

    address: str
    chain: ChainBalances | None
    ledger: LedgerBalances
    chain_stale: bool
    ledger_stale: bool

    def to_json(self) -> dict[str, object]:
        """Render as JSON: amounts as decimal strings; chain fields null when the chain is off."""
        chain = self.chain
        return {
            "address": self.address,
            "token_balance_wei": None if chain is None else str(chain.token_wei),
            "escrow_balance_wei": None if chain is None else str(chain.escrow_wei),
            "credit_wei": str(self.ledger.credit_wei),
            "pending_payouts_wei": str(self.ledger.pending_payouts_wei),
            "block_number": None if chain is None else chain.block_number,
            "stale": self.chain_stale or self.ledger_stale,
        }


class BalanceService:
    """Composes chain and ledger readings for the endpoint, each behind its own cache."""

    def __init__(
        self,
        ledger: LedgerReader,
        chain: ChainBalanceReader | None,
        *,
        chain_ttl_s: float = 5.0,
        ledger_ttl_s: float = 1.0,
        timeout_s: float = 1.0,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.chain = chain
        # A small pool of its own: a few threads doing reads compete less with the event loop for
        # the GIL than the default pool's, and the caches never need more than a few at once.
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="balance-read")
        self._chain_cache: TtlCache[ChainBalances] | None = None
        if chain is not None:
            self._chain_cache = TtlCache(
                "chain", self._read_chain, chain_ttl_s, timeout_s, max_entries, clock
            )
        self._ledger_cache = TtlCache(
            "ledger", self._read_ledger, ledger_ttl_s, timeout_s, max_entries, clock
        )

    async def _read_chain(self, address: str) -> ChainBalances:
        assert self.chain is not None  # noqa: S101 - only called when a chain is configured
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.chain.read, address)

    async def _read_ledger(self, address: str) -> LedgerBalances:
        def read() -> LedgerBalances:
            try:
                return LedgerBalances(
                    self.ledger.credit_balance(address), self.ledger.pending_payouts(address)
                )
            except SQLAlchemyError as error:
                raise RetryableSettlementError(f"ledger read failed: {error}") from error

        return await asyncio.get_running_loop().run_in_executor(self._executor, read)

    def close(self) -> None:
        """Stop the read threads (tests; a server keeps them for its lifetime)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def balances(self, address: str) -> BalanceView:
        """Return the balances of a normalized (lower-case 0x) address."""
        chain_cache = self._chain_cache
        cached_ledger = self._ledger_cache.peek(address)
        cached_chain = None if chain_cache is None else chain_cache.peek(address)
        if cached_ledger is not None and (cached_chain is not None or chain_cache is None):
            return BalanceView(address, cached_chain, cached_ledger, False, False)  # common case
        if chain_cache is None:
            ledger, ledger_stale = await self._ledger_cache.get(address)
            return BalanceView(address, None, ledger, False, ledger_stale)
        # Both sources load concurrently: a slow chain does not delay the ledger read.
        (chain, chain_stale), (ledger, ledger_stale) = await asyncio.gather(
            chain_cache.get(address), self._ledger_cache.get(address)
        )
        return BalanceView(address, chain, ledger, chain_stale, ledger_stale)
