"""EVM L1 adapter: sign EIP-1559 batch payouts to the settlement contract; FINAL after K blocks.

Calls `HyperbrickSettlement.payoutFromSettler(batchId, total, words)` (the settler's approved
balance) or `payout(escrowId, batchId, total, words)` (an escrow); batch ids are the ledger's
sequential batch numbers (uint256). A word packs `payee << 96 | amount`; larger amounts
are split over several words. The contract runs each batch id once, so even a mistaken second
transaction for one batch cannot pay twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from settlement.chain.client import ChainClient
from settlement.errors import FatalSettlementError
from settlement.ledger.amounts import normalize_address, validate_wei
from settlement.payouts.states import Finality, PayoutState

TX_GAS_CAP = 16_777_216  # EIP-7825 per-transaction cap (anvil --enable-tx-gas-limit, testnets)
AMOUNT_BITS = 96
AMOUNT_MAX = 2**AMOUNT_BITS - 1
# Gas budget of a batch: fixed overhead + per word (new holder ~24.7k + calldata; rounded up so
# a batch of brand-new holders still fits; unused gas is not charged).
GAS_BASE = 80_000
GAS_PER_WORD = 29_000
PAYOUT_FROM_SETTLER = keccak(text="payoutFromSettler(uint256,uint256,bytes32[])")[:4]
PAYOUT_FROM_ESCROW = keccak(text="payout(uint256,uint256,uint256,bytes32[])")[:4]
BATCH_EXECUTED = keccak(text="batchExecuted(uint256)")[:4]


@dataclass(frozen=True, slots=True)
class Fees:
    """EIP-1559 fee caps of one attempt."""

    max_fee_per_gas_wei: int
    max_priority_fee_per_gas_wei: int

    def bumped(self, percent: int = 125) -> Fees:
        """Return fees raised enough for a node to accept a replacement (>= +10%; we use +25%)."""
        return Fees(
            max_fee_per_gas_wei=self.max_fee_per_gas_wei * percent // 100 + 1,
            max_priority_fee_per_gas_wei=self.max_priority_fee_per_gas_wei * percent // 100 + 1,
        )


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction: what the write-ahead sender persists before broadcasting."""

    raw_tx: str
    tx_hash: str
    nonce: int
    fees: Fees


def pack_words(payees: list[tuple[str, int]]) -> list[bytes]:
    """Pack (payee, amount) pairs into 32-byte words, splitting amounts above 2**96 - 1."""
    words: list[bytes] = []
    for address, amount in payees:
        payee = int(normalize_address(address, field="payee"), 16)
        remaining = validate_wei(amount)
        if remaining == 0:
            continue
        if remaining > AMOUNT_MAX * max_words_per_tx():
            # No token here holds that much (HBK's cap is < 2**96): refuse rather than loop.
            raise FatalSettlementError(f"payout of {remaining} wei cannot fit one transaction")
        while remaining > 0:
            part = min(remaining, AMOUNT_MAX)
            words.append(((payee << AMOUNT_BITS) | part).to_bytes(32, "big"))
            remaining -= part
    return words


def batch_gas_limit(word_count: int) -> int:
    """Return the gas limit of a batch with `word_count` words."""
    return GAS_BASE + GAS_PER_WORD * word_count


def max_words_per_tx(cap: int = TX_GAS_CAP) -> int:
    """Return the most words one batch may carry under the per-transaction gas cap."""
    return (cap - GAS_BASE) // GAS_PER_WORD


class EvmPayoutChain:
    """Builds, signs and judges the finality of batch payouts on an Ethereum-like L1."""

    finality_level = Finality.L1_CONFIRMATIONS

    def __init__(
        self,
        client: ChainClient,
        *,
        chain_id: int,
        settlement_address: str,
        private_key: str,
        confirmations: int,
        escrow_id: int | None = None,
        priority_fee_wei: int = 1_000_000_000,
    ) -> None:
        if confirmations < 1:
            raise FatalSettlementError("confirmations must be >= 1")
        self.client = client
        self.chain_id = chain_id
        self.settlement_address = normalize_address(settlement_address, field="settlement_address")
        self._account = Account.from_key(private_key)
        self.sender = self._account.address.lower()
        self.confirmations = confirmations
        self.escrow_id = escrow_id
        self.priority_fee_wei = priority_fee_wei

    def calldata(self, batch_key: str, words: list[bytes]) -> bytes:
        """Return the call data paying `words` under `batch_key` (0x + 64 hex of the batch id)."""
        batch_id = int(batch_key, 16)
        total = sum(int.from_bytes(w, "big") & AMOUNT_MAX for w in words)
        if self.escrow_id is None:
            return PAYOUT_FROM_SETTLER + encode(
                ["uint256", "uint256", "bytes32[]"], [batch_id, total, words]
            )
        return PAYOUT_FROM_ESCROW + encode(
            ["uint256", "uint256", "uint256", "bytes32[]"], [self.escrow_id, batch_id, total, words]
        )

    def suggest_fees(self) -> Fees:
        """Return fee caps that survive a doubling of the base fee."""
        base = self.client.base_fee_wei()
        return Fees(2 * base + self.priority_fee_wei, self.priority_fee_wei)

    def sign_batch(
        self, batch_key: str, payees: list[tuple[str, int]], nonce: int, fees: Fees
    ) -> SignedTx:
        """Sign the EIP-1559 transaction of one batch (no network call)."""
        words = pack_words(payees)
        if not words:
            raise FatalSettlementError(f"batch {batch_key} pays nothing")
        gas = batch_gas_limit(len(words))
        if gas > TX_GAS_CAP:
            raise FatalSettlementError(f"batch {batch_key} needs {gas} gas > cap {TX_GAS_CAP}")
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": bytes.fromhex(self.settlement_address[2:]),
            "value": 0,
            "data": self.calldata(batch_key, words),
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas_wei,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas_wei,
        }
        signed = self._account.sign_transaction(tx)
        return SignedTx(
            raw_tx="0x" + bytes(signed.raw_transaction).hex(),
            tx_hash="0x" + bytes(signed.hash).hex(),
            nonce=nonce,
            fees=fees,
        )

    def batch_executed(self, batch_key: str) -> bool:
        """Ask the settlement contract whether `batch_key` has executed."""
        data = "0x" + (BATCH_EXECUTED + int(batch_key, 16).to_bytes(32, "big")).hex()
        return int.from_bytes(self.client.call(self.settlement_address, data) or b"\0", "big") == 1

    def state_after_confirmations(self) -> PayoutState:
        """K confirmations on an L1 are final (at the configured K)."""
        return PayoutState.FINAL

    def executed_on_l1(self, block_number: int) -> bool:
        """An L1 block is on L1 by definition."""
        return True
