"""Node identity: requests signed with the node's secp256k1 key pair (layer 1 of identity).

A node is its Ethereum address; it signs the lines METHOD, PATH, TIMESTAMP and SHA256(BODY) as an
EIP-191 personal message. The service recovers the signer, requires it to equal the claimed address,
bounds the clock skew and rejects any timestamp not newer than the node's last accepted one, so a
captured request cannot be replayed. Reputation (layer 2) is earned on top of this key: a fresh key
starts as a newcomer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.address import is_hex_address, to_checksum_address

from governance.errors import GovernanceError

ADDRESS_HEADER = "X-Node-Address"
TIMESTAMP_HEADER = "X-Node-Timestamp"
SIGNATURE_HEADER = "X-Node-Signature"


class IdentityError(GovernanceError, PermissionError):
    """A signed request failed verification (bad signature, stale or replayed timestamp)."""


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request that a node's signature covers."""

    method: str
    path: str
    timestamp_ms: int
    body: bytes

    def message(self) -> str:
        """Return the canonical text the node signs."""
        digest = hashlib.sha256(self.body).hexdigest()
        return f"{self.method.upper()}\n{self.path}\n{self.timestamp_ms}\n{digest}"


class InvalidAddressError(GovernanceError, ValueError):
    """A value that should be an Ethereum address is not one."""


def normalize_address(address: str) -> str:
    """Return the checksummed address, or raise InvalidAddressError naming the bad value."""
    if not is_hex_address(address):
        raise InvalidAddressError(f"not an Ethereum address: {address!r}")
    return str(to_checksum_address(address))


def sign_request(private_key: str, request: SignedRequest) -> str:
    """Sign a request as a node would (node clients, tests, load tools)."""
    signed = Account.sign_message(encode_defunct(text=request.message()), private_key)
    return "0x" + bytes(signed.signature).hex()


def recover_signer(request: SignedRequest, signature: str) -> str:
    """Return the checksummed address that signed the request."""
    try:
        signer = Account.recover_message(
            encode_defunct(text=request.message()), signature=signature
        )
    except (ValueError, TypeError) as error:
        raise IdentityError(f"malformed signature: {error}") from None
    return str(signer)


class ReplayGuard:
    """Accepts each node's timestamps only within the skew window and strictly increasing."""

    def __init__(self, max_clock_skew_s: float) -> None:
        self._max_skew_ms = int(max_clock_skew_s * 1000)
        self._last_ms: dict[str, int] = {}

    def check(self, address: str, timestamp_ms: int, now_ms: int) -> None:
        """Raise IdentityError unless the timestamp is fresh and newer than the last one."""
        if abs(timestamp_ms - now_ms) > self._max_skew_ms:
            raise IdentityError(
                f"timestamp {timestamp_ms} is more than {self._max_skew_ms} ms from server time"
            )
        if timestamp_ms <= self._last_ms.get(address, -1):
            raise IdentityError("timestamp not newer than the last accepted request (replay?)")
        self._last_ms[address] = timestamp_ms


def verify_request(
    claimed_address: str, signature: str, request: SignedRequest, guard: ReplayGuard, now_ms: int
) -> str:
    """Verify a node-signed request; return the checksummed node address."""
    try:
        address = normalize_address(claimed_address)
    except InvalidAddressError as error:
        raise IdentityError(str(error)) from None
    signer = recover_signer(request, signature)
    if signer != address:
        raise IdentityError(f"signature is by {signer}, not by {address}")
    guard.check(address, request.timestamp_ms, now_ms)
    return address
