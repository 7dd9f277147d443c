"""Fixtures shared by the settlement tests: a JSON-RPC client on the session anvil."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settlement.chain.anvil import Anvil
from settlement.chain.client import JsonRpcChainClient


@pytest.fixture
def client(anvil: Anvil) -> Iterator[JsonRpcChainClient]:
    """A chain client on the session anvil (reverted after the test by the `anvil` fixture)."""
    rpc = JsonRpcChainClient(anvil.rpc_url)
    yield rpc
    rpc.close()
