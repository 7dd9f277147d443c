"""The packed payout word the contracts take: `uint256(uint160(payee)) << 96 | amount` (pure)."""

from __future__ import annotations

from collections.abc import Iterable

AMOUNT_BITS = 96
MAX_AMOUNT_WEI = (1 << AMOUNT_BITS) - 1
_ADDRESS_HEX_LEN = 40


def pack_payout(payee: str, amount_wei: int) -> bytes:
    """Return the 32-byte word paying `amount_wei` to `payee` (a 0x-prefixed address)."""
    if not 0 <= amount_wei <= MAX_AMOUNT_WEI:
        raise ValueError(f"amount {amount_wei} does not fit in {AMOUNT_BITS} bits")
    digits = payee.removeprefix("0x").removeprefix("0X")
    if len(digits) != _ADDRESS_HEX_LEN:
        raise ValueError(f"not an address: {payee!r}")
    value = int(digits, 16)
    if value == 0:
        raise ValueError("the zero address cannot be paid")
    return ((value << AMOUNT_BITS) | amount_wei).to_bytes(32, "big")


def pack_payouts(payouts: Iterable[tuple[str, int]]) -> list[bytes]:
    """Pack (payee, amount_wei) pairs in order, for `payout` / `payoutFromSettler`."""
    return [pack_payout(payee, amount) for payee, amount in payouts]


def unpack_payout(word: bytes) -> tuple[str, int]:
    """Split a packed word into (lower-case 0x address, amount_wei)."""
    if len(word) != 32:
        raise ValueError(f"a packed payout is 32 bytes, got {len(word)}")
    value = int.from_bytes(word, "big")
    return f"0x{value >> AMOUNT_BITS:040x}", value & MAX_AMOUNT_WEI
