"""zkSync Era adapter: EIP-1559 batch payouts whose K confirmations mean SEQUENCER_CONFIRMED only.

A zkSync block is soft-confirmed by the sequencer within seconds but final only when its L1 batch
is executed on Ethereum (hours). The confirmer therefore stops at SEQUENCER_CONFIRMED after K L2
blocks and calls a payout FINAL (finality `executed_on_l1`) only once `zks_getBlockDetails` reports
an `executeTxHash`. EIP-712 (type 0x71) transactions with a paymaster live in `zksync_eip712`
(optional extra `zksync`).
"""

from __future__ import annotations

from settlement.chain.client import RpcError
from settlement.chain.evm import EvmPayoutChain
from settlement.errors import RetryableSettlementError
from settlement.payouts.states import Finality, PayoutState

ZKSYNC_CHAIN_IDS = {324: "zksync-era", 300: "zksync-sepolia"}


class ZkSyncPayoutChain(EvmPayoutChain):
    """EVM-compatible payouts on zkSync Era with the two-level finality made explicit."""

    finality_level = Finality.EXECUTED_ON_L1

    def state_after_confirmations(self) -> PayoutState:
        """K L2 blocks prove only that the sequencer included the batch."""
        return PayoutState.SEQUENCER_CONFIRMED

    def executed_on_l1(self, block_number: int) -> bool:
        """Return whether the L1 batch holding `block_number` was executed on Ethereum."""
        try:
            details = self.client.request("zks_getBlockDetails", block_number)
        except RpcError as error:
            if error.code == -32601 or "not found" in error.message.lower():
                return False  # a node without the zks namespace (e.g. anvil) never proves L1
            raise
        except RetryableSettlementError:
            return False
        return bool(details and details.get("executeTxHash"))
