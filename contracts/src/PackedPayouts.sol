// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title PackedPayouts
/// @notice The packed batch format shared by the token and the settlement contract: one payee per
/// 32-byte word, `uint256(uint160(payee)) << 96 | amount`, so an amount is at most 2**96 - 1 wei
/// (the token's cap, 1e27, is below that, so any balance fits).
library PackedPayouts {
    uint256 internal constant AMOUNT_BITS = 96;
    uint256 internal constant AMOUNT_MASK = 0xffffffffffffffffffffffff; // 2**96 - 1

    /// @notice Pack one payee and amount into a word.
    function pack(address payee, uint96 amount) internal pure returns (bytes32) {
        return bytes32((uint256(uint160(payee)) << AMOUNT_BITS) | amount);
    }

    /// @notice Split a word into payee and amount.
    function unpack(bytes32 word) internal pure returns (address payee, uint256 amount) {
        payee = address(uint160(uint256(word) >> AMOUNT_BITS));
        amount = uint256(word) & AMOUNT_MASK;
    }

    /// @notice Sum of the amounts in a batch. Cannot overflow: each amount is below 2**96 and a
    /// calldata array holds far fewer than 2**160 words.
    function total(bytes32[] calldata words) internal pure returns (uint256 sum) {
        assembly ("memory-safe") {
            let end := add(words.offset, shl(5, words.length))
            for { let p := words.offset } lt(p, end) { p := add(p, 0x20) } {
                sum := add(sum, and(calldataload(p), AMOUNT_MASK))
            }
        }
    }
}
