"""Pure token rules: new claims on issue, whether and how a token may be refreshed, request quotas.

Refresh: a token (current or expired) can be exchanged for a successor with the same subject,
scopes, quota and lifetime, until `grace_s` after it expired, while its holder has credit (earned by
contributing resources or bought with an on-chain deposit) of at least the refresh price, which is
debited. Each token refreshes at most once (the shell records the successor): refreshing cannot fork
one token into many. `now` and the new token id come in as arguments; nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from settlement.errors import FatalSettlementError
from settlement.tokens.format import TokenClaims

MAX_GENERATION = 2**16 - 1


class InvalidTokenRequestError(FatalSettlementError, ValueError):
    """An issue request that cannot be honoured (lifetime or quota out of range)."""


class RefreshRefusal(StrEnum):
    """Why a refresh was refused."""

    GRACE_EXPIRED = "grace_expired"
    NO_CREDIT = "no_credit"
    ALREADY_REFRESHED = "already_refreshed"
    REVOKED = "revoked"
    GENERATION_LIMIT = "generation_limit"


class RefreshRefusedError(FatalSettlementError, PermissionError):
    """A refresh was refused; `reason` says why."""

    def __init__(self, reason: RefreshRefusal, detail: str = "") -> None:
        super().__init__(f"refresh refused: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """What a caller asks for when a token is issued."""

    subject: bytes
    scope_mask: int
    lifetime_s: int
    quota_per_min: int = 0


def new_claims(request: IssueRequest, kid: str, token_id: bytes, now_s: int) -> TokenClaims:
    """Return the claims of a freshly issued token (generation 0)."""
    if request.lifetime_s <= 0:
        raise InvalidTokenRequestError(f"lifetime_s must be > 0, got {request.lifetime_s}")
    if not 0 <= request.quota_per_min < 2**32:
        raise InvalidTokenRequestError(
            f"quota_per_min must be in [0, 2**32), got {request.quota_per_min}"
        )
    return TokenClaims(
        kid=kid,
        token_id=token_id,
        subject=request.subject,
        issued_at_s=now_s,
        expires_at_s=now_s + request.lifetime_s,
        scope_mask=request.scope_mask,
        quota_per_min=request.quota_per_min,
        generation=0,
    )


def successor_claims(
    old: TokenClaims,
    *,
    kid: str,
    token_id: bytes,
    now_s: int,
    grace_s: int,
    credit_wei: int,
    price_wei: int,
) -> TokenClaims:
    """Return the successor of `old` or raise `RefreshRefusedError` (revocation is the shell's)."""
    if now_s > old.expires_at_s + grace_s:
        raise RefreshRefusedError(RefreshRefusal.GRACE_EXPIRED)
    if credit_wei <= 0 or credit_wei < price_wei:
        raise RefreshRefusedError(
            RefreshRefusal.NO_CREDIT, f"credit {credit_wei} wei, price {price_wei} wei"
        )
    if old.generation >= MAX_GENERATION:
        raise RefreshRefusedError(RefreshRefusal.GENERATION_LIMIT)
    return replace(
        old,
        kid=kid,
        token_id=token_id,
        issued_at_s=now_s,
        expires_at_s=now_s + old.lifetime_s,
        generation=old.generation + 1,
    )


class QuotaWindows:
    """Per-token request counters over fixed one-minute windows (in-process, bounded).

    A quota is enforced per process: with W service processes a token may get up to W times its
    quota in a minute. That is the price of a verification path with no shared state per request.
    """

    __slots__ = ("_counts", "_max_tokens")

    def __init__(self, max_tokens: int = 100_000) -> None:
        self._counts: dict[bytes, tuple[int, int]] = {}
        self._max_tokens = max_tokens

    def admit(self, claims: TokenClaims, now_s: float) -> bool:
        """Count one request for the token; return False once it is over its per-minute quota."""
        if claims.quota_per_min == 0:
            return True
        window = int(now_s) // 60
        start, count = self._counts.get(claims.token_id, (window, 0))
        if start != window:
            count = 0
        if count >= claims.quota_per_min:
            return False
        if len(self._counts) >= self._max_tokens and claims.token_id not in self._counts:
            self._counts.clear()  # bounded memory; forgetting counts only ever admits more
        self._counts[claims.token_id] = (window, count + 1)
        return True
