"""The token service: issue, verify, refresh and revoke API tokens through the store and ledger."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from settlement.ledger.amounts import normalize_address
from settlement.ledger.repository import InsufficientCreditError
from settlement.tokens.format import Keyring, TokenClaims, mint
from settlement.tokens.ports import Clock, CreditLedger, TokenStore
from settlement.tokens.rules import (
    InvalidTokenRequestError,
    IssueRequest,
    RefreshRefusal,
    RefreshRefusedError,
    new_claims,
    successor_claims,
)
from settlement.tokens.scopes import Scope, scope_mask
from settlement.tokens.settings import TokenSettings
from settlement.tokens.store import RevocationCache
from settlement.tokens.verify import Refusal, TokenRefusedError, Verifier

REFRESH_KEY_PREFIX = "token-refresh:"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A minted token and the claims it carries."""

    token: str
    claims: TokenClaims

    def document(self) -> dict[str, object]:
        """The JSON form the API and the CLI print (times in unix seconds)."""
        claims = self.claims
        return {
            "token": self.token,
            "token_id": claims.token_id_hex,
            "subject": claims.subject_address,
            "scopes": sorted(scope.value for scope in claims.scopes),
            "issued_at_s": claims.issued_at_s,
            "expires_at_s": claims.expires_at_s,
            "quota_per_min": claims.quota_per_min,
            "generation": claims.generation,
        }


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """Lifetimes and refresh rules the service applies (from `TokenSettings`)."""

    default_lifetime_s: int = 3600
    max_lifetime_s: int = 30 * 86400
    grace_s: int = 86400
    refresh_price_wei: int = 0
    leeway_s: int = 30
    revocation_ttl_s: float = 5.0
    verify_cache_max: int = 100_000

    @classmethod
    def from_settings(cls, settings: TokenSettings) -> TokenPolicy:
        """Copy the rule fields out of the settings."""
        return cls(
            default_lifetime_s=settings.default_lifetime_s,
            max_lifetime_s=settings.max_lifetime_s,
            grace_s=settings.grace_s,
            refresh_price_wei=settings.refresh_price_wei,
            leeway_s=settings.leeway_s,
            revocation_ttl_s=settings.revocation_ttl_s,
            verify_cache_max=settings.verify_cache_max,
        )


class TokenService:
    """Issues and checks tokens; one instance per process, sharing the store with the others."""

    def __init__(
        self,
        *,
        keyring: Keyring,
        store: TokenStore,
        credits: CreditLedger,
        clock: Clock,
        policy: TokenPolicy | None = None,
        new_token_id: Callable[[], bytes] = lambda: secrets.token_bytes(16),
    ) -> None:
        self.keyring = keyring
        self.store = store
        self.credits = credits
        self.clock = clock
        self.policy = policy or TokenPolicy()
        self._new_token_id = new_token_id
        self.verifier = Verifier(
            keyring, leeway_s=self.policy.leeway_s, cache_max=self.policy.verify_cache_max
        )
        self.revocations = RevocationCache(
            store, self.verifier, clock, ttl_s=self.policy.revocation_ttl_s
        )

    def issue(
        self,
        subject: str,
        scopes: Iterable[Scope | str],
        lifetime_s: int | None = None,
        quota_per_min: int = 0,
    ) -> IssuedToken:
        """Mint and record a new token for `subject` (a 0x address)."""
        lifetime = self.policy.default_lifetime_s if lifetime_s is None else lifetime_s
        if not 0 < lifetime <= self.policy.max_lifetime_s:
            raise InvalidTokenRequestError(
                f"lifetime_s must be in (0, {self.policy.max_lifetime_s}], got {lifetime}"
            )
        request = IssueRequest(
            subject=bytes.fromhex(normalize_address(subject, field="subject")[2:]),
            scope_mask=scope_mask(scopes),
            lifetime_s=lifetime,
            quota_per_min=quota_per_min,
        )
        claims = new_claims(
            request, self.keyring.active_kid, self._new_token_id(), int(self.clock.now())
        )
        token = mint(claims, self.keyring)
        self.store.record_issued(claims)
        return IssuedToken(token, claims)

    def verify_mask(
        self, token: str | bytes, required_mask: int, *, reload: bool = True
    ) -> TokenClaims:
        """Verify with a precomputed scope mask (the request hot path).

        `reload=False` skips the revocation-cache refresh: for async callers that refresh it in a
        worker thread themselves, so no database read runs on the event loop.
        """
        if reload:
            self.revocations.maybe_reload()
        return self.verifier.verify(token, required_mask, self.clock.now())

    def verify(self, token: str | bytes, *scopes: Scope | str) -> TokenClaims:
        """Verify a token and require every scope in `scopes`."""
        return self.verify_mask(token, scope_mask(scopes))

    def refresh(self, token: str | bytes) -> IssuedToken:
        """Exchange a current or recently expired token for its successor (at most once).

        The credit debit is keyed by the old token id, so retries and concurrent refreshes of one
        token charge once; the refresh marker (primary key on the old id) lets one successor win.
        """
        old = self.verifier.authenticate(token)
        now_s = int(self.clock.now())
        self.revocations.reload(now_s)  # rare and sensitive: never act on a stale revocation set
        if self.verifier.revocations.revokes(old):
            raise RefreshRefusedError(RefreshRefusal.REVOKED)
        subject = old.subject_address
        new = successor_claims(
            old,
            kid=self.keyring.active_kid,
            token_id=self._new_token_id(),
            now_s=now_s,
            grace_s=self.policy.grace_s,
            credit_wei=self.credits.credit_balance(subject),
            price_wei=self.policy.refresh_price_wei,
        )
        if self.policy.refresh_price_wei:
            try:
                self.credits.debit(
                    subject,
                    self.policy.refresh_price_wei,
                    REFRESH_KEY_PREFIX + old.token_id_hex,
                    "token refresh",
                )
            except InsufficientCreditError as error:  # spent between the check and the debit
                raise RefreshRefusedError(RefreshRefusal.NO_CREDIT, str(error)) from None
        if not self.store.claim_refresh(old.token_id, new.token_id):
            raise RefreshRefusedError(RefreshRefusal.ALREADY_REFRESHED)
        self.store.record_issued(new, parent_id=old.token_id)
        if old.expires_at_s + self.policy.leeway_s > now_s:
            self._revoke_claims(old, now_s, "superseded by refresh")
        return IssuedToken(mint(new, self.keyring), new)

    def _revoke_claims(self, claims: TokenClaims, now_s: int, reason: str) -> int:
        # The row matters while the token could still verify or be refreshed.
        until = claims.expires_at_s + self.policy.leeway_s + self.policy.grace_s + 1
        seq = self.store.add_revocation(
            token_id=claims.token_id,
            subject=None,
            cutoff_s=None,
            expires_at_s=until,
            revoked_at_s=now_s,
            reason=reason,
        )
        self.revocations.invalidate()  # this process sees its own revocations at once
        return seq

    def revoke_token(self, token: str | bytes, reason: str = "revoked") -> TokenClaims:
        """Revoke one token given its text (its MAC must be valid)."""
        claims = self.verifier.authenticate(token)
        self._revoke_claims(claims, int(self.clock.now()), reason)
        return claims

    def revoke_id(self, token_id_hex: str, reason: str = "revoked") -> None:
        """Revoke one token by its id (from the issue record, or for the longest lifetime)."""
        try:
            token_id = bytes.fromhex(token_id_hex)
        except ValueError:
            token_id = b""
        if len(token_id) != 16:
            raise TokenRefusedError(Refusal.MALFORMED, "a token id is 32 hex characters")
        now_s = int(self.clock.now())
        known = self.store.issued(token_id)
        if known is not None:
            self._revoke_claims(known, now_s, reason)
            return
        self.store.add_revocation(
            token_id=token_id,
            subject=None,
            cutoff_s=None,
            expires_at_s=now_s + self._horizon_s(),
            revoked_at_s=now_s,
            reason=reason,
        )
        self.revocations.invalidate()

    def revoke_subject(self, address: str, reason: str = "revoked") -> int:
        """Revoke every token of `address` issued up to now; return the cut-off (Unix seconds).

        Issue times have one-second resolution and the cut-off is inclusive, so a token issued to
        the same address later within the same second is revoked too (fail safe); issue again a
        second later.
        """
        subject = bytes.fromhex(normalize_address(address)[2:])
        now_s = int(self.clock.now())
        self.store.add_revocation(
            token_id=None,
            subject=subject,
            cutoff_s=now_s,
            expires_at_s=now_s + self._horizon_s(),
            revoked_at_s=now_s,
            reason=reason,
        )
        self.revocations.invalidate()
        return now_s

    def _horizon_s(self) -> int:
        return self.policy.max_lifetime_s + self.policy.leeway_s + self.policy.grace_s + 1
