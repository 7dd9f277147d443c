"""Deploy HyperbrickToken + HyperbrickSettlement with brownie (run in .venv-brownie).

Environment: HYPERBRICK_DEPLOYER_KEY (hex private key), optional HYPERBRICK_SETTLER (address),
HYPERBRICK_BROWNIE_RECORD (where to write a JSON record of what was deployed).
"""

import json
import os

from brownie import HyperbrickSettlement, HyperbrickToken, accounts, chain, network


def main():
    """Deploy both contracts and write the record."""
    # Brownie's development default is the block gas limit, above the 16,777,216 per-transaction
    # cap anvil enforces (--enable-tx-gas-limit): estimate each transaction instead.
    network.gas_limit("auto")
    # Development networks default to a zero gas price, below anvil's base fee: use EIP-1559 fees.
    network.priority_fee("1 gwei")
    deployer = accounts.add(os.environ["HYPERBRICK_DEPLOYER_KEY"])
    settler = os.environ.get("HYPERBRICK_SETTLER", deployer.address)
    token = HyperbrickToken.deploy(deployer, deployer, {"from": deployer, "required_confs": 1})
    settlement = HyperbrickSettlement.deploy(
        token, deployer, settler, {"from": deployer, "required_confs": 1}
    )
    record = {
        "chain_id": chain.id,
        "deployer": deployer.address,
        "settler": settler,
        "token": token.address,
        "settlement": settlement.address,
        "token_tx": token.tx.txid,
        "settlement_tx": settlement.tx.txid,
    }
    path = os.environ.get("HYPERBRICK_BROWNIE_RECORD")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
    print(json.dumps(record))
