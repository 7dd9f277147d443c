"""Node credit owed within a step, and the charge, expiry and refresh primitives on the book.

`settle_step` applies node rows' rewards and provider shares in one pass at the end; until then a
`NodeCredit` says what each node row is owed, so the charges before it read node balances as if
already credited and expire a node row just before they first touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from settlement.economics import kernels
from settlement.economics.book import RequestScratch, TokenBook

#: An expiry cutoff no row is before.
NEVER = -(2**63)


def spendable(
    book: TokenBook, keys: NDArray[np.int64], now: int, pending: NodeCredit
) -> NDArray[np.int64]:
    """Balances of ``keys`` as the step has them so far, zero where expired.

    Node rows still owe this step's pending node credit (applied later in one fused pass).
    """
    balance = book.balance[keys]
    expires = book.expires_at_step[keys]
    nodes = np.flatnonzero(keys < pending.n)
    if nodes.size:
        rows = keys[nodes]
        credit, refreshed = pending.at(rows)
        balance[nodes] += credit
        expires[nodes] = np.where(refreshed, pending.refresh_to, expires[nodes])
    out: NDArray[np.int64] = np.where(expires >= now, balance, 0)
    return out


def charge(
    book: TokenBook,
    keys: NDArray[np.int64],
    totals: NDArray[np.int64],
    now: int,
    pending: NodeCredit,
) -> int:
    """Debit costs grouped by payer, buying what the spendable balance lacks; return bought."""
    if keys.size == 0:
        return 0
    bought, burned, done = kernels.charge_jit(
        keys, totals, now, *pending.kernel_args(), book.balance, book.expires_at_step
    )
    if done:
        pending.burned += int(burned)
        return int(bought)
    expire_nodes(book, keys, pending)  # a key outside the accounts: numpy's error
    bought = np.maximum(totals - spendable(book, keys, now, pending), 0)
    # Expired-but-unspendable balances stay frozen; the purchase covers the whole cost then.
    book.balance[keys] += bought - totals
    return int(bought.sum())


def burn(book: TokenBook, rows: NDArray[np.int64], cutoff: int) -> int:
    """Burn the positive balances of ``rows`` (unique) that expired before ``cutoff``."""
    dead = rows[(book.expires_at_step[rows] < cutoff) & (book.balance[rows] > 0)]
    burned = int(book.balance[dead].sum())
    book.balance[dead] = 0
    return burned


def expire_accounts(book: TokenBook, pending: NodeCredit) -> int:
    """Expire the accounts past the node rows (the node rows are expired lazily)."""
    return int(
        kernels.expire_rows_jit(book.balance, book.expires_at_step, pending.n, pending.cutoff)
    )


def expire_nodes(book: TokenBook, keys: NDArray[np.int64], pending: NodeCredit) -> None:
    """Expire the node rows among ``keys`` (unique) now: the step is about to read or change them.

    An expired row's balance stays 0 until it is refreshed, so expiring it again changes nothing.
    """
    rows = keys[(keys >= 0) & (keys < pending.n)]
    pending.burned += burn(book, rows, pending.cutoff)


def expire_all_nodes(book: TokenBook, pending: NodeCredit) -> None:
    """Expire every node row now (for the numpy path, which changes rows anywhere)."""
    stale = np.flatnonzero(book.expires_at_step[: pending.n] < pending.cutoff)
    pending.burned += burn(book, stale, pending.cutoff)
    pending.cutoff = NEVER


def wrap_int64(value: int) -> int:
    """``value`` wrapped to int64, as numpy's sum of the same int64 terms in one array is."""
    return (value + 2**63) % 2**64 - 2**63


@dataclass(slots=True)
class NodeCredit:
    """What node rows ``[0, n)`` get this step, not yet applied: ``units * rate + shares * unit``.

    A node row is refreshed when it earns (``units > 0``) or receives a provider share
    (``shares > 0`` when every paid batch gives its provider something, else ``flagged``).
    Node rows expired before ``cutoff`` are burned lazily: just before the step first reads or
    changes them (``burned`` so far), the others in the node pass.
    """

    units: kernels.Units
    rate: int
    refresh_to: int
    cutoff: int
    shares: kernels.Shares | None = None
    #: What 1 in ``shares`` is worth (they may sum multiples of it, in a narrow scratch).
    share_unit: int = 1
    flagged: NDArray[np.bool_] | None = None
    burned: int = 0
    #: The request scratch whose ``shares`` these are (clean once the node pass zeroed them).
    scratch: RequestScratch | None = None

    @property
    def n(self) -> int:
        return int(self.units.size)

    def at(self, rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Pending credit and refresh flag of some node rows."""
        units = self.units[rows].astype(np.int64)  # narrow units times the rate: in int64
        credit = units * self.rate
        refreshed = units > 0
        if self.shares is not None:
            shares = self.shares[rows].astype(np.int64)
            credit += shares * self.share_unit
            refreshed |= shares > 0
        if self.flagged is not None:
            refreshed |= self.flagged[rows]
        return credit, refreshed

    def kernel_args(
        self,
    ) -> tuple[kernels.Units, int, kernels.Shares | None, int, NDArray[np.bool_] | None, int, int]:
        """The credit as the compiled charge passes take it, in their parameter order."""
        return (
            self.units, self.rate, self.shares, self.share_unit, self.flagged, self.cutoff,
            self.refresh_to,
        )  # fmt: skip


def refresh(book: TokenBook, accounts: NDArray[np.int64], refresh_to: int) -> None:
    """Set the expiry of ``accounts`` to ``refresh_to`` (they were active this step)."""
    book.expires_at_step[accounts] = refresh_to
