"""The worker's settings pick the chain adapter (and its finality) and refuse what is missing."""

from __future__ import annotations

import pytest

from settlement.chain.evm import EvmPayoutChain
from settlement.chain.zksync import ZkSyncPayoutChain
from settlement.errors import FatalSettlementError
from settlement.payouts.config import SettleSettings
from settlement.payouts.states import PayoutState
from settlement.payouts.worker import build_chain

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDRESS = "0x" + "ab" * 20


def test_chain_kind_selects_the_adapter_and_its_finality(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HB_TEST_KEY", KEY)
    l1 = build_chain(SettleSettings(settlement_address=ADDRESS, key_env="HB_TEST_KEY"))
    zk = build_chain(
        SettleSettings(
            settlement_address=ADDRESS, key_env="HB_TEST_KEY", chain_kind="zksync", chain_id=300
        )
    )
    assert type(l1) is EvmPayoutChain
    assert isinstance(zk, ZkSyncPayoutChain)
    assert l1.state_after_confirmations() == PayoutState.FINAL
    assert zk.state_after_confirmations() == PayoutState.SEQUENCER_CONFIRMED


def test_missing_key_or_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HB_TEST_KEY", raising=False)
    with pytest.raises(FatalSettlementError, match="HB_TEST_KEY"):
        build_chain(SettleSettings(settlement_address=ADDRESS, key_env="HB_TEST_KEY"))
    monkeypatch.setenv("HB_TEST_KEY", KEY)
    with pytest.raises(FatalSettlementError, match="settlement_address"):
        build_chain(SettleSettings(key_env="HB_TEST_KEY"))


def test_confirmations_must_be_positive() -> None:
    with pytest.raises(ValueError, match="confirmations"):
        SettleSettings(confirmations=0)
