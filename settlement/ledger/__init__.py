"""The settlement ledger: accounts, credits, metered usage, payouts, batches, nonces and an outbox.

Use `open_ledger(url)`; every amount is an int of wei.
"""

from settlement.ledger.amounts import format_wei, parse_wei, validate_wei
from settlement.ledger.repository import (
    IdempotencyConflictError,
    InsufficientCreditError,
    Ledger,
    Recorded,
    UsageInput,
    UsageTrace,
    open_ledger,
)

__all__ = [
    "IdempotencyConflictError",
    "InsufficientCreditError",
    "Ledger",
    "Recorded",
    "UsageInput",
    "UsageTrace",
    "format_wei",
    "open_ledger",
    "parse_wei",
    "validate_wei",
]
