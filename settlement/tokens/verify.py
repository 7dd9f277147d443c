"""Token verification: the hot path every authenticated request takes (pure: `now` is passed in).

Order of checks: shape, key id, strict base64url, MAC (constant-time compare), then claims against
`now` with a bounded clock-skew leeway, revocation, and scopes. A verified token's claims are kept
in a bounded in-process dict keyed by the exact token text, so a token seen again skips decoding
and the MAC (the time, revocation and scope checks still run every time). Looking a forged token up
in that dict reveals nothing: Python's string hash is keyed per process, so a forged text only
reaches an equality comparison on a full 64-bit hash collision with a live token.
"""

from __future__ import annotations

import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from settlement.errors import FatalSettlementError
from settlement.tokens.format import (
    PAYLOAD,
    PAYLOAD_BYTES,
    PREFIX,
    RAW_BYTES,
    Keyring,
    TokenClaims,
    claims_from_wire,
    mac,
)

MAX_LEEWAY_S = 300
# Map base64url to standard base64 and poison the characters only standard base64 (or padding)
# uses, so that strict decoding accepts exactly one spelling of each token.
_URLSAFE_TO_STD = bytes.maketrans(b"-_+/=", b"+/***")


class Refusal(StrEnum):
    """Why a token was refused (machine-readable; also the HTTP error code)."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    WRONG_SCOPE = "wrong_scope"


class TokenRefusedError(FatalSettlementError, PermissionError):
    """A token failed verification; `reason` says which check."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"token refused: {reason.value}" + (f" ({detail})" if detail else ""))
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RevocationSet:
    """Revoked token ids, and per-subject cut-offs (every token issued at or before is revoked)."""

    token_ids: frozenset[bytes] = frozenset()
    subject_cutoffs_s: Mapping[bytes, int] = field(default_factory=dict)

    def revokes(self, claims: TokenClaims) -> bool:
        """Return whether these revocations cover the token."""
        if claims.token_id in self.token_ids:
            return True
        cutoff = self.subject_cutoffs_s.get(claims.subject)
        return cutoff is not None and claims.issued_at_s <= cutoff


def decode(token: str | bytes, keys: Mapping[str, bytes]) -> TokenClaims:
    """Parse and authenticate a token; raise `TokenRefusedError` unless the MAC matches."""
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise TokenRefusedError(Refusal.MALFORMED, "not ASCII") from None
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenRefusedError(Refusal.MALFORMED, "expected hb1.<kid>.<body>")
    kid = parts[1]
    key = keys.get(kid)
    if key is None:
        raise TokenRefusedError(Refusal.UNKNOWN_KEY)
    try:
        body = parts[2].encode("ascii").translate(_URLSAFE_TO_STD)
        raw = binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError):
        raise TokenRefusedError(Refusal.MALFORMED, "body is not base64url") from None
    if len(raw) != RAW_BYTES:
        raise TokenRefusedError(Refusal.MALFORMED, "wrong length")
    if not hmac.compare_digest(mac(raw[:PAYLOAD_BYTES], key), raw[PAYLOAD_BYTES:]):
        raise TokenRefusedError(Refusal.BAD_SIGNATURE)
    return claims_from_wire(kid, PAYLOAD.unpack_from(raw))


def check_claims(
    claims: TokenClaims,
    required_mask: int,
    now_s: float,
    leeway_s: int,
    revocations: RevocationSet,
) -> None:
    """Refuse claims that are expired, not yet valid, revoked or lack a required scope."""
    if now_s >= claims.expires_at_s + leeway_s:
        raise TokenRefusedError(Refusal.EXPIRED)
    if claims.issued_at_s > now_s + leeway_s:
        raise TokenRefusedError(Refusal.NOT_YET_VALID)
    if revocations.revokes(claims):
        raise TokenRefusedError(Refusal.REVOKED)
    if claims.scope_mask & required_mask != required_mask:
        raise TokenRefusedError(Refusal.WRONG_SCOPE)


class Verifier:
    """Verifies tokens against a keyring and the current revocation set; caches decoded claims."""

    __slots__ = ("_cache", "_cache_max", "_keys", "leeway_s", "revocations")

    def __init__(
        self,
        keyring: Keyring,
        leeway_s: int = 30,
        revocations: RevocationSet | None = None,
        cache_max: int = 100_000,
    ) -> None:
        if not 0 <= leeway_s <= MAX_LEEWAY_S:
            raise ValueError(f"leeway_s must be in [0, {MAX_LEEWAY_S}], got {leeway_s}")
        self._keys: dict[str, bytes] = dict(keyring.keys)
        self.leeway_s = leeway_s
        # The shell swaps in a fresh set when its revocation cache reloads from the database.
        self.revocations = revocations or RevocationSet()
        self._cache: dict[str | bytes, TokenClaims] = {}
        self._cache_max = cache_max

    def authenticate(self, token: str | bytes) -> TokenClaims:
        """Return the claims of an authentic token (MAC checked, nothing else)."""
        claims = self._cache.get(token)
        if claims is None:
            claims = decode(token, self._keys)
            if len(self._cache) >= self._cache_max:
                self._cache.clear()  # bounded memory; a cold re-fill costs one MAC per token
            self._cache[token] = claims
        return claims

    def verify(self, token: str | bytes, required_mask: int, now_s: float) -> TokenClaims:
        """Return the claims if the token is authentic, current, unrevoked and has the scopes."""
        # `authenticate` and `check_claims` inlined: this is the per-request hot path.
        claims = self._cache.get(token)
        if claims is None:
            claims = decode(token, self._keys)
            if len(self._cache) >= self._cache_max:
                self._cache.clear()
            self._cache[token] = claims
        leeway_s = self.leeway_s
        if now_s >= claims.expires_at_s + leeway_s:
            raise TokenRefusedError(Refusal.EXPIRED)
        if claims.issued_at_s > now_s + leeway_s:
            raise TokenRefusedError(Refusal.NOT_YET_VALID)
        revocations = self.revocations
        if claims.token_id in revocations.token_ids or (
            revocations.subject_cutoffs_s and revocations.revokes(claims)
        ):
            raise TokenRefusedError(Refusal.REVOKED)
        if claims.scope_mask & required_mask != required_mask:
            raise TokenRefusedError(Refusal.WRONG_SCOPE)
        return claims
