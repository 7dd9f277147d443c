"""The packed payout word round-trips and rejects what the contracts would reject."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.chain.packing import MAX_AMOUNT_WEI, pack_payout, unpack_payout

addresses = st.integers(min_value=1, max_value=2**160 - 1).map(lambda v: f"0x{v:040x}")


@given(payee=addresses, amount=st.integers(min_value=0, max_value=MAX_AMOUNT_WEI))
def test_round_trip(payee: str, amount: int) -> None:
    word = pack_payout(payee, amount)
    assert len(word) == 32
    assert unpack_payout(word) == (payee, amount)
    assert int.from_bytes(word, "big") == (int(payee, 16) << 96) | amount


@pytest.mark.parametrize(
    ("payee", "amount"),
    [
        ("0x" + "11" * 20, MAX_AMOUNT_WEI + 1),
        ("0x" + "11" * 20, -1),
        ("0x" + "00" * 20, 1),
        ("0x1234", 1),
    ],
)
def test_rejects_out_of_range(payee: str, amount: int) -> None:
    with pytest.raises(ValueError, match=r"bits|zero|address"):
        pack_payout(payee, amount)
