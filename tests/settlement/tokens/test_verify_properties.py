"""Hypothesis properties: forged, tampered, expired, revoked, wrong-scope, truncated and non-UTF-8
tokens are always refused; valid ones always accepted. Counts are tallied and checked at the end."""

from __future__ import annotations

import base64
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.tokens.format import (
    PAYLOAD_BYTES,
    Keyring,
    TokenClaims,
    encode_payload,
    mac,
    mint,
)
from settlement.tokens.scopes import KNOWN_SCOPE_MASK, SCOPE_BITS
from settlement.tokens.verify import Refusal, RevocationSet, TokenRefusedError, Verifier

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
KEYRING = Keyring({"k1": KEY, "k2": bytes(range(2, 34))}, "k1")
LEEWAY_S = 30
NOW_S = 1_800_000_000
TALLY: Counter[str] = Counter()

claims_st = st.builds(
    TokenClaims,
    kid=st.sampled_from(["k1", "k2"]),
    token_id=st.binary(min_size=16, max_size=16),
    subject=st.binary(min_size=20, max_size=20),
    issued_at_s=st.integers(NOW_S - 10_000, NOW_S + LEEWAY_S),
    expires_at_s=st.integers(NOW_S - LEEWAY_S + 1, NOW_S + 10**6),
    scope_mask=st.integers(1, KNOWN_SCOPE_MASK),
    quota_per_min=st.integers(0, 2**32 - 1),
    generation=st.integers(0, 2**16 - 1),
).filter(lambda c: c.expires_at_s > c.issued_at_s)


def fresh_verifier(revocations: RevocationSet | None = None) -> Verifier:
    # A fresh verifier per example: no claims cache carried over between examples.
    return Verifier(KEYRING, leeway_s=LEEWAY_S, revocations=revocations)


def assert_refused(token: str | bytes, mask: int, verifier: Verifier, kind: str) -> Refusal:
    with pytest.raises(TokenRefusedError) as caught:
        verifier.verify(token, mask, NOW_S)
    TALLY[f"refused:{kind}"] += 1
    return caught.value.reason


@settings(max_examples=400, suppress_health_check=[HealthCheck.filter_too_much])
@given(claims_st)
def test_valid_tokens_are_accepted(claims: TokenClaims) -> None:
    token = mint(claims, KEYRING)
    verifier = fresh_verifier()
    for attempt in (token, token.encode("ascii"), token):  # second str hit goes through the cache
        assert verifier.verify(attempt, claims.scope_mask, NOW_S) == claims
    TALLY["accepted:valid"] += 1


@settings(max_examples=400)
@given(claims_st, st.data())
def test_tampered_tokens_are_refused(claims: TokenClaims, data: st.DataObject) -> None:
    token = mint(claims, KEYRING)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != token[position]))
    tampered = token[:position] + replacement + token[position + 1 :]
    verifier = fresh_verifier()
    verifier.verify(token, claims.scope_mask, NOW_S)  # the genuine one is cached first
    assert_refused(tampered, claims.scope_mask, verifier, "tampered")


@settings(max_examples=300)
@given(claims_st, st.binary(min_size=PAYLOAD_BYTES + 16, max_size=PAYLOAD_BYTES + 16))
def test_forged_tokens_are_refused(claims: TokenClaims, raw: bytes) -> None:
    verifier = fresh_verifier()
    payload = encode_payload(claims)
    forgeries = [
        # signed with a key the verifier does not hold, under a key id it does hold
        "hb1.k1." + base64.urlsafe_b64encode(payload + mac(payload, OTHER_KEY)).decode(),
        # random body
        "hb1.k1." + base64.urlsafe_b64encode(raw).decode(),
        # a genuine token moved under another known key id
        mint(claims, KEYRING).replace(f".{claims.kid}.", ".k2." if claims.kid == "k1" else ".k1."),
        # an unknown key id
        "hb1.zz." + base64.urlsafe_b64encode(payload + mac(payload, KEY)).decode(),
        # another version prefix
        "hb2" + mint(claims, KEYRING)[3:],
    ]
    for forged in forgeries:
        assert_refused(forged, claims.scope_mask, verifier, "forged")


@settings(max_examples=300)
@given(claims_st, st.data())
def test_truncated_or_extended_tokens_are_refused(claims: TokenClaims, data: st.DataObject) -> None:
    token = mint(claims, KEYRING)
    cut = data.draw(st.integers(0, len(token) - 1))
    suffix = data.draw(st.text(min_size=1, max_size=8))
    verifier = fresh_verifier()
    assert_refused(token[:cut], claims.scope_mask, verifier, "truncated")
    assert_refused(token + suffix, claims.scope_mask, verifier, "extended")


@settings(max_examples=300)
@given(claims_st, st.binary(min_size=1, max_size=8), st.data())
def test_non_utf8_tokens_are_refused(claims: TokenClaims, junk: bytes, data: st.DataObject) -> None:
    token = mint(claims, KEYRING).encode("ascii")
    position = data.draw(st.integers(0, len(token)))
    high = bytes([0x80 | b for b in junk])  # never valid ASCII, usually not valid UTF-8 either
    mangled = token[:position] + high + token[position:]
    verifier = fresh_verifier()
    assert_refused(mangled, claims.scope_mask, verifier, "non_utf8")
    assert_refused(mangled.decode("latin-1"), claims.scope_mask, verifier, "non_ascii_text")


@settings(max_examples=300)
@given(claims_st, st.integers(0, 10**6))
def test_expired_tokens_are_refused(claims: TokenClaims, late_s: int) -> None:
    token = mint(claims, KEYRING)
    verifier = fresh_verifier()
    with pytest.raises(TokenRefusedError) as caught:
        verifier.verify(token, claims.scope_mask, claims.expires_at_s + LEEWAY_S + late_s)
    assert caught.value.reason is Refusal.EXPIRED
    TALLY["refused:expired"] += 1


@settings(max_examples=200)
@given(claims_st, st.integers(1, 10**6))
def test_tokens_from_the_future_are_refused(claims: TokenClaims, early_s: int) -> None:
    verifier = fresh_verifier()
    with pytest.raises(TokenRefusedError) as caught:
        verifier.verify(
            mint(claims, KEYRING), claims.scope_mask, claims.issued_at_s - LEEWAY_S - early_s
        )
    assert caught.value.reason in {Refusal.NOT_YET_VALID, Refusal.EXPIRED}
    TALLY["refused:not_yet_valid"] += 1


@settings(max_examples=300)
@given(claims_st, st.booleans())
def test_revoked_tokens_are_refused(claims: TokenClaims, by_subject: bool) -> None:
    token = mint(claims, KEYRING)
    verifier = fresh_verifier()
    verifier.verify(token, claims.scope_mask, NOW_S)  # cached while valid
    if by_subject:
        verifier.revocations = RevocationSet(subject_cutoffs_s={claims.subject: claims.issued_at_s})
    else:
        verifier.revocations = RevocationSet(token_ids=frozenset({claims.token_id}))
    assert assert_refused(token, claims.scope_mask, verifier, "revoked") is Refusal.REVOKED


@settings(max_examples=300)
@given(claims_st, st.sampled_from(sorted(SCOPE_BITS.values())))
def test_wrong_scope_is_refused(claims: TokenClaims, bit: int) -> None:
    missing = claims.scope_mask & ~bit
    if missing == claims.scope_mask:  # make sure the required bit is absent
        narrowed = claims
    else:
        narrowed = TokenClaims(**{**_fields(claims), "scope_mask": missing or 0})
    token = mint(narrowed, KEYRING)
    verifier = fresh_verifier()
    reason = assert_refused(token, narrowed.scope_mask | bit, verifier, "wrong_scope")
    assert reason is Refusal.WRONG_SCOPE


def _fields(claims: TokenClaims) -> dict[str, object]:
    return {name: getattr(claims, name) for name in TokenClaims.__slots__}


def test_tally_of_the_properties_above() -> None:
    """Printed with -s; every refused kind and the valid kind ran at least once."""
    print("\ntoken property tally:", dict(sorted(TALLY.items())))
    if TALLY:  # when this test runs alone (-k) there is nothing to tally
        assert TALLY["accepted:valid"] > 0
        assert all(TALLY[f"refused:{kind}"] > 0 for kind in ("tampered", "forged", "revoked"))


def test_decoded_claims_are_immutable_and_equal_to_minted() -> None:
    import dataclasses

    claims = TokenClaims("k1", bytes(16), bytes(20), NOW_S, NOW_S + 60, 8, 5, 1)
    decoded = fresh_verifier().verify(mint(claims, KEYRING), 8, NOW_S)
    assert decoded == claims
    assert hash(decoded) == hash(claims)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.expires_at_s = NOW_S + 10**6  # type: ignore[misc]
