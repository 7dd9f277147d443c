"""The chain side of the gas benchmark: deploy, fund, pay batches, search the largest batch."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from settlement.chain.anvil import DEV_PRIVATE_KEYS, TX_GAS_CAP
from settlement.chain.artifacts import SETTLEMENT, TOKEN
from settlement.chain.deploy import contract_at, deploy_contracts
from settlement.chain.packing import pack_payouts

AMOUNT_WEI = 10**18
FUNDING_CHUNK = 500
GAS_PAD = 20_000


@dataclass
class GasBench:
    """A deployed token + settlement with a large escrow, paying from the first dev account."""

    w3: Web3
    token: Contract
    settlement: Contract
    sender: str
    escrow_id: int
    _batch_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(0))
    _payee_seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls, rpc_url: str) -> GasBench:
        """Deploy, mint, approve, open one escrow and mark batch id 0 (warms the bitmap word)."""
        w3 = Web3(Web3.HTTPProvider(rpc_url))
        account = Account.from_key(DEV_PRIVATE_KEYS[0])
        deployment = deploy_contracts(w3, account)
        token = contract_at(w3, TOKEN, deployment.token_address)
        settlement = contract_at(w3, SETTLEMENT, deployment.settlement_address)
        bench = cls(w3, token, settlement, account.address, escrow_id=1)
        bench._send(token.functions.mint(account.address, 10**26))
        bench._send(token.functions.approve(settlement.address, 2**256 - 1))
        expiry = w3.eth.get_block("latest")["timestamp"] + 30 * 86_400
        bench._send(settlement.functions.deposit(5 * 10**25, expiry))
        bench.pay("escrow", bench.fresh_payees(1))  # batch id 0: the bitmap word is now in use
        return bench

    def fresh_payees(self, count: int) -> list[str]:
        """Addresses that have never held the token (derived, reproducible)."""
        return [
            Web3.to_checksum_address(Web3.keccak(text=f"payee-{next(self._payee_seq)}")[12:])
            for _ in range(count)
        ]

    def pay(self, path: str, payees: list[str]) -> int:
        """Pay AMOUNT_WEI to every payee in one batch; return the gas used."""
        words, total, batch_id = self._batch(payees)
        if path == "escrow":
            call = self.settlement.functions.payout(self.escrow_id, batch_id, total, words)
        else:
            call = self.settlement.functions.payoutFromSettler(batch_id, total, words)
        return self._send(call)

    def largest_batch(self, holders: str, upper: int) -> tuple[int, int]:
        """Binary-search the most payees one escrow batch may pay under the gas cap; send it."""
        payees = self.fresh_payees(upper)
        if holders == "existing":
            for start in range(0, upper, FUNDING_CHUNK):
                self.pay("escrow", payees[start : start + FUNDING_CHUNK])
        low, high = 1, upper
        while low < high:
            mid = (low + high + 1) // 2
            if self._fits(payees[:mid]):
                low = mid
            else:
                high = mid - 1
        return low, self.pay("escrow", payees[:low])

    def _fits(self, payees: list[str]) -> bool:
        words, total, _ = self._batch(payees, consume_id=False)
        call = self.settlement.functions.payout(self.escrow_id, 2**255, total, words)
        try:
            return int(call.estimate_gas({"from": self.sender})) <= TX_GAS_CAP
        except (ContractLogicError, Web3RPCError):  # above the cap: anvil runs out of gas
            return False

    def _batch(self, payees: list[str], *, consume_id: bool = True) -> tuple[list[bytes], int, int]:
        words = pack_payouts([(p, AMOUNT_WEI) for p in payees])
        batch_id = next(self._batch_ids) if consume_id else 0
        return words, AMOUNT_WEI * len(payees), batch_id

    def _send(self, call: object) -> int:
        # web3's transact() pads its estimate by 100k gas, which can cross the cap: set gas here.
        estimate = int(call.estimate_gas({"from": self.sender}))  # type: ignore[attr-defined]
        gas = min(estimate + GAS_PAD, TX_GAS_CAP)
        tx_hash = call.transact({"from": self.sender, "gas": gas})  # type: ignore[attr-defined]
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"benchmark transaction {tx_hash.hex()} reverted")
        return int(receipt["gasUsed"])
