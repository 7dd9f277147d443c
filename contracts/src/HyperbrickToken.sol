// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {IBatchToken} from "./IBatchToken.sol";
import {PackedPayouts} from "./PackedPayouts.sol";

/// @title HyperbrickToken (HBK)
/// @notice The network's utility token: ERC20 + ERC20Permit, 18 decimals.
/// Supply rules: nothing is minted at deployment; only MINTER_ROLE mints; the total supply can
/// never exceed MAX_SUPPLY (1e9 HBK), which also keeps every amount inside the 96 bits of a packed
/// payout word; any holder may burn its own tokens (or an allowance), which lowers the supply.
/// Roles: DEFAULT_ADMIN_ROLE grants and revokes roles; MINTER_ROLE mints.
/// @dev batchTransfer writes balances directly (the gas floor of a payout is one balance write and
/// one Transfer event); it bypasses `_update`, so extensions that hook `_update` on transfers
/// (pausable, votes) must not be added without routing batches through them. ERC20Capped hooks
/// `_update` only to check mints, which batches never do.
contract HyperbrickToken is ERC20, ERC20Permit, ERC20Capped, ERC20Burnable, AccessControl, IBatchToken {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    uint256 public constant MAX_SUPPLY = 1_000_000_000 ether;

    /// @dev Slot of ERC20's `_balances` mapping; a test checks it against solc's storage layout.
    uint256 private constant _BALANCES_SLOT = 0;
    /// @dev keccak256("Transfer(address,address,uint256)")
    bytes32 private constant _TRANSFER_TOPIC = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;
    /// @dev ERC20InvalidReceiver(address).selector
    uint256 private constant _INVALID_RECEIVER_SELECTOR = 0xec442f05;

    constructor(address admin, address minter)
        ERC20("Hyperbrick", "HBK")
        ERC20Permit("Hyperbrick")
        ERC20Capped(MAX_SUPPLY)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Mint `amount` to `to`; only MINTER_ROLE, never above MAX_SUPPLY.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc IBatchToken
    function batchTransfer(bytes32[] calldata words) external returns (uint256 total) {
        total = _batchPay(_msgSender(), words);
    }

    /// @inheritdoc IBatchToken
    function batchTransferFrom(address from, bytes32[] calldata words) external returns (uint256 total) {
        // Without this, an all-zero batch "from" address(0) would emit mint-like Transfer events.
        if (from == address(0)) revert ERC20InvalidSender(address(0));
        total = _batchPay(from, words);
        _spendAllowance(from, _msgSender(), total);
    }

    /// @dev Credit every payee, then debit `from` once; the whole call reverts if `from` is short,
    /// so no credit survives an unfunded batch. A payee may not be zero or `from` itself.
    function _batchPay(address from, bytes32[] calldata words) private returns (uint256 total) {
        assembly ("memory-safe") {
            mstore(0x20, _BALANCES_SLOT)
            let end := add(words.offset, shl(5, words.length))
            for { let p := words.offset } lt(p, end) { p := add(p, 0x20) } {
                let word := calldataload(p)
                let to := shr(96, word)
                let amount := and(word, 0xffffffffffffffffffffffff)
                if or(iszero(to), eq(to, from)) {
                    mstore(0x00, shl(224, _INVALID_RECEIVER_SELECTOR))
                    mstore(0x04, to)
                    revert(0x00, 0x24)
                }
                mstore(0x00, to)
                let slot := keccak256(0x00, 0x40)
                // Cannot overflow: a balance is at most MAX_SUPPLY < 2**96 and amount < 2**96.
                sstore(slot, add(sload(slot), amount))
                mstore(0x00, amount)
                log3(0x00, 0x20, _TRANSFER_TOPIC, from, to)
                total := add(total, amount)
            }
        }
        uint256 fromBalance = balanceOf(from);
        if (fromBalance < total) revert ERC20InsufficientBalance(from, fromBalance, total);
        assembly ("memory-safe") {
            mstore(0x00, from)
            mstore(0x20, _BALANCES_SLOT)
            sstore(keccak256(0x00, 0x40), sub(fromBalance, total))
        }
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
