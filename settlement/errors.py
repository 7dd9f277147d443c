"""Exception tree of the settlement package.

SettlementError
 ├── RetryableSettlementError: transient (RPC timeout, node busy): the same step may be retried.
 └── FatalSettlementError: retrying cannot help (bad input, wrong chain, insufficient funds).
"""


class SettlementError(Exception):
    """Root of every error the settlement package raises on purpose."""


class RetryableSettlementError(SettlementError):
    """A transient fault: the operation may be retried unchanged."""


class FatalSettlementError(SettlementError):
    """A permanent fault: retrying the same operation cannot succeed."""
