"""deploy_contracts puts both contracts on anvil; an escrow pays a packed batch exactly once."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError

from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
from settlement.chain.artifacts import SETTLEMENT, TOKEN
from settlement.chain.deploy import contract_at, deploy_contracts, verify_deployment
from settlement.chain.errors import DeploymentMismatchError
from settlement.chain.packing import pack_payouts

pytestmark = pytest.mark.chain


def _send(w3: Web3, fn: object, sender: str) -> None:
    receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))  # type: ignore[attr-defined]
    assert receipt["status"] == 1


def test_deploy_grants_roles_and_verifies(anvil: Anvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    deployer = Account.from_key(DEV_PRIVATE_KEYS[0])
    settler = Account.from_key(DEV_PRIVATE_KEYS[1]).address
    deployment = deploy_contracts(w3, deployer, settler=settler)
    verify_deployment(w3, deployment)
    token = contract_at(w3, TOKEN, deployment.token_address)
    settlement = contract_at(w3, SETTLEMENT, deployment.settlement_address)
    assert settlement.functions.token().call() == deployment.token_address
    assert settlement.functions.hasRole(settlement.functions.SETTLER_ROLE().call(), settler).call()
    assert not settlement.functions.hasRole(
        settlement.functions.SETTLER_ROLE().call(), deployer.address
    ).call()
    assert token.functions.hasRole(token.functions.MINTER_ROLE().call(), deployer.address).call()
    assert token.functions.totalSupply().call() == 0


def test_verify_rejects_a_record_whose_code_is_not_ours(anvil: Anvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    deployment = deploy_contracts(w3, Account.from_key(DEV_PRIVATE_KEYS[0]))
    anvil.rpc("anvil_setCode", deployment.settlement_address, "0x6000")
    with pytest.raises(DeploymentMismatchError, match="does not match"):
        verify_deployment(w3, deployment)


def test_escrow_pays_a_packed_batch_once(anvil: Anvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    me = Account.from_key(DEV_PRIVATE_KEYS[0]).address
    deployment = deploy_contracts(w3, Account.from_key(DEV_PRIVATE_KEYS[0]))
    token = contract_at(w3, TOKEN, deployment.token_address)
    settlement = contract_at(w3, SETTLEMENT, deployment.settlement_address)
    _send(w3, token.functions.mint(me, 10**24), me)
    _send(w3, token.functions.approve(settlement.address, 10**24), me)
    expiry = w3.eth.get_block("latest")["timestamp"] + 3600
    _send(w3, settlement.functions.deposit(10**21, expiry), me)
    payees = [Account.create().address for _ in range(3)]
    words = pack_payouts([(p, (i + 1) * 10**18) for i, p in enumerate(payees)])
    _send(w3, settlement.functions.payout(1, 7, 6 * 10**18, words), me)
    assert [token.functions.balanceOf(p).call() for p in payees] == [10**18, 2 * 10**18, 3 * 10**18]
    assert settlement.functions.escrows(1).call() == [me, 10**21 - 6 * 10**18, expiry]
    assert token.functions.balanceOf(settlement.address).call() == 10**21 - 6 * 10**18
    assert settlement.functions.batchExecuted(7).call()
    with pytest.raises(ContractCustomError):
        settlement.functions.payout(1, 7, 6 * 10**18, words).call({"from": me})
