"""Money at the edge: wei amounts are ints in [0, 2**256), carried in JSON as decimal strings."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from settlement.errors import FatalSettlementError

UINT256_LIMIT = 2**256
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,77}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class InvalidAmountError(FatalSettlementError, ValueError):
    """An amount is not an int in [0, 2**256) (floats and bools are refused, never rounded)."""


class InvalidAddressError(FatalSettlementError, ValueError):
    """A string is not a 20-byte hex account address."""


def validate_wei(value: object, *, field: str = "amount_wei") -> int:
    """Return `value` if it is an int in [0, 2**256); raise InvalidAmountError naming `field`."""
    # bool is an int subclass; True is never a payment.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidAmountError(f"{field} must be an int (wei), got {type(value).__name__}")
    if not 0 <= value < UINT256_LIMIT:
        raise InvalidAmountError(f"{field} must be in [0, 2**256), got {value}")
    return value


def parse_wei(text: str, *, field: str = "amount_wei") -> int:
    """Parse a JSON decimal string (no sign, no exponent, no leading zeros) into wei."""
    if not isinstance(text, str) or _DECIMAL.fullmatch(text) is None:
        raise InvalidAmountError(f"{field} must be a decimal string of wei, got {text!r}")
    return validate_wei(int(text), field=field)


def format_wei(value: int) -> str:
    """Render wei as the JSON decimal string."""
    return str(validate_wei(value))


def normalize_address(address: str, *, field: str = "address") -> str:
    """Return the lower-case 0x form of a 20-byte address (the ledger's account key)."""
    if not isinstance(address, str) or _ADDRESS.fullmatch(address) is None:
        raise InvalidAddressError(f"{field} must be a 0x-prefixed 20-byte hex address")
    return address.lower()


class Wei(TypeDecorator[int]):
    """A uint256 column: NUMERIC(78,0) on PostgreSQL, decimal TEXT elsewhere; int in Python."""

    impl = String(78)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0, asdecimal=True))
        return dialect.type_descriptor(String(78))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        checked = validate_wei(value)
        return Decimal(checked) if dialect.name == "postgresql" else str(checked)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)
