"""Errors of the chain tooling (compile, artifacts, networks, deploy), under settlement's roots."""

from __future__ import annotations

from settlement.errors import FatalSettlementError, RetryableSettlementError


class CompileError(FatalSettlementError, RuntimeError):
    """solc rejected the sources or could not run."""


class ArtifactError(FatalSettlementError, ValueError):
    """A compiled artifact is missing, malformed or stale."""


class NetworkConfigError(FatalSettlementError, ValueError):
    """A named network is unknown or its configuration (RPC URL variable) is missing."""


class MissingKeyError(FatalSettlementError, ValueError):
    """The environment variable that should hold the deployer key is unset or not a key."""


class RpcUnreachableError(RetryableSettlementError, ConnectionError):
    """The JSON-RPC endpoint did not answer."""


class WrongChainError(FatalSettlementError, ValueError):
    """The endpoint serves another chain than the one the network or record names."""


class InsufficientFundsError(FatalSettlementError, ValueError):
    """The deployer cannot pay for the deployment."""


class DeploymentMismatchError(FatalSettlementError, ValueError):
    """A deployment record exists but the code on chain does not match it."""


class DeployFailedError(FatalSettlementError, RuntimeError):
    """A deployment transaction reverted or was not mined in time."""


class ConfirmationTimeoutError(RetryableSettlementError, TimeoutError):
    """A mined transaction did not reach the required confirmations in time (no record written)."""
