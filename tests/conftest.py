"""Session-wide fixtures: one anvil per test session, snapshot/revert around each chain test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settlement.chain.anvil import Anvil


@pytest.fixture(scope="session")
def anvil_session() -> Iterator[Anvil]:
    """One anvil for the whole session: starting one per test costs seconds."""
    with Anvil() as node:
        yield node


@pytest.fixture
def anvil(anvil_session: Anvil) -> Iterator[Anvil]:
    """The session anvil, reverted after the test (anvil slows as its chain grows)."""
    snapshot = anvil_session.rpc("evm_snapshot")
    yield anvil_session
    assert anvil_session.rpc("evm_revert", snapshot) is True
