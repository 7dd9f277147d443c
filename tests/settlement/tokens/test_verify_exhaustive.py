"""Exhaustive edits of valid tokens: every one-character substitution, every truncation, every
flipped bit of the decoded body is refused; the fuzz lane repeats the properties at high counts."""

from __future__ import annotations

import base64
import os
import string
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.tokens.format import Keyring, TokenClaims, mint
from settlement.tokens.verify import TokenRefusedError, Verifier

KEYRING = Keyring({"k1": os.urandom(32)}, "k1")
NOW_S = 1_800_000_000
ALPHABET = string.ascii_letters + string.digits + "-_+/=. \x00"


def _claims(seed: int) -> TokenClaims:
    rng = __import__("random").Random(seed)  # test data only
    return TokenClaims(
        "k1", rng.randbytes(16), rng.randbytes(20), NOW_S - 10, NOW_S + 3600, 0b1111, 60, 0
    )


def _refusals(token: str, variants: list[str | bytes]) -> Counter[str]:
    verifier = Verifier(KEYRING)
    verifier.verify(token, 0b1111, NOW_S)  # the genuine token is cached: edits must not hit it
    outcome: Counter[str] = Counter()
    for variant in variants:
        try:
            verifier.verify(variant, 0b1111, NOW_S)
            outcome["accepted"] += 1
        except TokenRefusedError as error:
            outcome[error.reason.value] += 1
    return outcome


@pytest.mark.parametrize("seed", range(3))
def test_every_single_character_substitution_is_refused(seed: int) -> None:
    token = mint(_claims(seed), KEYRING)
    variants: list[str | bytes] = [
        token[:i] + c + token[i + 1 :] for i in range(len(token)) for c in ALPHABET if c != token[i]
    ]
    outcome = _refusals(token, variants)
    assert outcome["accepted"] == 0, outcome
    assert sum(outcome.values()) == len(variants) > 7_000


def _flip(raw: bytes, index: int, bit: int) -> bytes:
    return raw[:index] + bytes([raw[index] ^ (1 << bit)]) + raw[index + 1 :]


def test_every_truncation_and_every_body_bit_flip_is_refused() -> None:
    token = mint(_claims(7), KEYRING)
    head, body = token.rsplit(".", 1)
    raw = base64.urlsafe_b64decode(body)
    flipped = [
        head + "." + base64.urlsafe_b64encode(_flip(raw, i, bit)).decode()
        for i in range(len(raw))
        for bit in range(8)
    ]
    truncated = [token[:i] for i in range(len(token))]
    non_utf8 = [token.encode()[:i] + b"\xc3\x28" + token.encode()[i:] for i in range(len(token))]
    outcome = _refusals(token, [*flipped, *truncated, *non_utf8])
    assert outcome["accepted"] == 0, outcome
    assert outcome["bad_signature"] == len(flipped)


@pytest.mark.fuzz
@settings(max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32), st.binary(min_size=1, max_size=120), st.data())
def test_fuzz_random_edits_are_refused(seed: int, junk: bytes, data: st.DataObject) -> None:
    token = mint(_claims(seed), KEYRING).encode()
    start = data.draw(st.integers(0, len(token)))
    end = data.draw(st.integers(start, len(token)))
    edited = token[:start] + junk + token[end:]
    if edited == token:
        return
    with pytest.raises(TokenRefusedError):
        Verifier(KEYRING).verify(edited, 0b1111, NOW_S)
