"""zkSync Era EIP-712 (type 0x71) transactions with paymaster support, built and signed offline.

Needs the optional extra `zksync` (`pip install 'hyperbrick[zksync]'`, which brings `zksync2`). The
transaction hash follows zksync-ethers' `eip712TxHash`: keccak(signedDigest || keccak(signature)),
so the write-ahead sender can persist the hash before it broadcasts, as for EIP-1559.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from settlement.chain.evm import Fees, SignedTx
from settlement.errors import FatalSettlementError
from settlement.ledger.amounts import normalize_address

EIP712_TX_TYPE = 0x71
GAS_PER_PUBDATA_DEFAULT = 50_000
# IPaymasterFlow selectors: approvalBased(address,uint256,bytes) and general(bytes).
APPROVAL_BASED = keccak(text="approvalBased(address,uint256,bytes)")[:4]
GENERAL = keccak(text="general(bytes)")[:4]


class ZkSyncExtraMissingError(FatalSettlementError, ImportError):
    """The optional `zksync` extra (zksync2) is not installed."""


@dataclass(frozen=True, slots=True)
class Paymaster:
    """A paymaster address and the input its flow expects."""

    address: str
    paymaster_input: bytes


def approval_based_paymaster(
    address: str, token: str, min_allowance_wei: int, inner: bytes = b""
) -> Paymaster:
    """Return paymaster params for the approval-based flow (fees paid in `token`)."""
    payload = APPROVAL_BASED + encode(
        ["address", "uint256", "bytes"], [normalize_address(token), min_allowance_wei, inner]
    )
    return Paymaster(normalize_address(address, field="paymaster"), payload)


def general_paymaster(address: str, inner: bytes = b"") -> Paymaster:
    """Return paymaster params for the general flow (a sponsoring paymaster)."""
    return Paymaster(
        normalize_address(address, field="paymaster"), GENERAL + encode(["bytes"], [inner])
    )


def _zksync2() -> Any:
    try:
        from zksync2.core.types import PaymasterParams
        from zksync2.module.request_types import EIP712Meta
        from zksync2.signer.eth_signer import PrivateKeyEthSigner
        from zksync2.transaction.transaction712 import Transaction712
    except ImportError as error:
        raise ZkSyncExtraMissingError(
            "EIP-712 transactions need the optional extra: pip install 'hyperbrick[zksync]'"
        ) from error
    return PaymasterParams, EIP712Meta, PrivateKeyEthSigner, Transaction712


def sign_eip712(
    *,
    private_key: str,
    chain_id: int,
    nonce: int,
    to: str,
    data: bytes,
    gas_limit: int,
    fees: Fees,
    paymaster: Paymaster | None = None,
    gas_per_pubdata: int = GAS_PER_PUBDATA_DEFAULT,
) -> SignedTx:
    """Build and sign a type-0x71 transaction; return its raw bytes and zkSync hash."""
    paymaster_params_cls, meta_cls, signer_cls, tx_cls = _zksync2()
    account = Account.from_key(private_key)
    params = None
    if paymaster is not None:
        from eth_utils.address import to_checksum_address

        params = paymaster_params_cls(
            paymaster=to_checksum_address(paymaster.address),
            paymaster_input=paymaster.paymaster_input,
        )
    tx = tx_cls(
        chain_id=chain_id,
        nonce=nonce,
        gas_limit=gas_limit,
        to=normalize_address(to, field="to"),
        value=0,
        data=data,
        maxPriorityFeePerGas=fees.max_priority_fee_per_gas_wei,
        maxFeePerGas=fees.max_fee_per_gas_wei,
        from_=account.address,
        meta=meta_cls(gas_per_pub_data=gas_per_pubdata, paymaster_params=params),
    )
    signer = signer_cls(account, chain_id)
    struct = tx.to_eip712_struct()
    signature = signer.sign_typed_data(struct)
    raw: bytes = tx.encode(signature)
    digest = keccak(struct.signable_bytes(signer.domain))
    tx_hash = keccak(digest + keccak(bytes(signature.signature)))
    return SignedTx(raw_tx="0x" + raw.hex(), tx_hash="0x" + tx_hash.hex(), nonce=nonce, fees=fees)


def eip712_digest(chain_id: int, raw_tx: bytes) -> bytes:
    """Return the EIP-712 digest a decoded raw 0x71 transaction was signed over (for checks)."""
    _, meta_cls, signer_cls, tx_cls = _zksync2()
    fields = decode_eip712(raw_tx)
    paymaster = None
    if fields["paymaster_params"]:
        from zksync2.core.types import PaymasterParams

        paymaster = PaymasterParams(
            paymaster="0x" + fields["paymaster_params"][0].hex(),
            paymaster_input=fields["paymaster_params"][1],
        )
    tx = tx_cls(
        chain_id=chain_id, nonce=fields["nonce"], gas_limit=fields["gas_limit"],
        to="0x" + fields["to"].hex(), value=fields["value"], data=fields["data"],
        maxPriorityFeePerGas=fields["max_priority_fee"], maxFeePerGas=fields["max_fee"],
        from_="0x" + fields["from"].hex(),
        meta=meta_cls(gas_per_pub_data=fields["gas_per_pubdata"], paymaster_params=paymaster),
    )  # fmt: skip
    return keccak(tx.to_eip712_struct().signable_bytes(signer_cls.get_default_domain(chain_id)))


def decode_eip712(raw_tx: bytes) -> dict[str, Any]:
    """Decode a raw type-0x71 transaction into its named fields."""
    import rlp

    if not raw_tx or raw_tx[0] != EIP712_TX_TYPE:
        raise FatalSettlementError("not a type-0x71 transaction")
    items = rlp.decode(raw_tx[1:])
    names = (
        "nonce", "max_priority_fee", "max_fee", "gas_limit", "to", "value", "data", "chain_id",
        "unknown1", "unknown2", "chain_id2", "from", "gas_per_pubdata", "factory_deps",
        "signature", "paymaster_params",
    )  # fmt: skip
    ints = {"nonce", "max_priority_fee", "max_fee", "gas_limit", "value", "chain_id",
            "chain_id2", "gas_per_pubdata"}  # fmt: skip
    out: dict[str, Any] = {}
    for name, item in zip(names, items, strict=True):
        out[name] = int.from_bytes(item, "big") if name in ints else item
    return out
