"""The project's own anvil starts on loopback, answers, and snapshots revert state."""

import pytest

from settlement.chain.anvil import Anvil

pytestmark = pytest.mark.chain


def test_anvil_answers_with_its_chain_id(anvil: Anvil) -> None:
    assert anvil.rpc_url.startswith("http://127.0.0.1:")
    assert anvil.rpc("eth_chainId") == hex(anvil.chain_id)


def test_snapshot_revert_discards_blocks(anvil: Anvil) -> None:
    before = anvil.rpc("eth_blockNumber")
    snapshot = anvil.rpc("evm_snapshot")
    anvil.rpc("evm_mine")
    assert anvil.rpc("eth_blockNumber") != before
    anvil.rpc("evm_revert", snapshot)
    assert anvil.rpc("eth_blockNumber") == before


def test_a_second_anvil_with_another_chain_id() -> None:
    with Anvil(chain_id=300) as zk_like:
        assert zk_like.rpc("eth_chainId") == hex(300)
