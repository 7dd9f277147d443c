"""API token scopes: named permissions packed into a 32-bit mask inside the token."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from settlement.errors import FatalSettlementError


class UnknownScopeError(FatalSettlementError, ValueError):
    """A scope name that is not one of `Scope`."""


class Scope(StrEnum):
    """A permission a token can carry. The bit of each scope is fixed forever: never reorder."""

    SERVICES_DEPLOY = "services:deploy"
    SERVICES_READ = "services:read"
    NODES_REPORT = "nodes:report"
    BALANCES_READ = "balances:read"
    PAYOUTS_READ = "payouts:read"
    TOKENS_ADMIN = "tokens:admin"


# Bit positions are part of the wire format: tokens issued today must mean the same tomorrow.
SCOPE_BITS: dict[Scope, int] = {
    Scope.SERVICES_DEPLOY: 1 << 0,
    Scope.SERVICES_READ: 1 << 1,
    Scope.NODES_REPORT: 1 << 2,
    Scope.BALANCES_READ: 1 << 3,
    Scope.PAYOUTS_READ: 1 << 4,
    Scope.TOKENS_ADMIN: 1 << 5,
}
KNOWN_SCOPE_MASK = sum(SCOPE_BITS.values())


def parse_scope(name: str) -> Scope:
    """Return the scope called `name`, or raise `UnknownScopeError` naming the valid ones."""
    try:
        return Scope(name)
    except ValueError:
        valid = ", ".join(scope.value for scope in Scope)
        raise UnknownScopeError(f"unknown scope {name!r}; valid scopes: {valid}") from None


def scope_mask(scopes: Iterable[Scope | str]) -> int:
    """Pack scope names into the token's bit mask."""
    mask = 0
    for scope in scopes:
        mask |= SCOPE_BITS[scope if isinstance(scope, Scope) else parse_scope(scope)]
    return mask


def scopes_of(mask: int) -> frozenset[Scope]:
    """Unpack a bit mask into scope names (unknown bits are ignored)."""
    return frozenset(scope for scope, bit in SCOPE_BITS.items() if mask & bit)
