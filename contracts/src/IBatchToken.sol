// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IBatchToken
/// @notice An ERC20 that pays many payees in one call from a packed batch (see PackedPayouts).
interface IBatchToken is IERC20 {
    /// @notice Pay every payee in `words` from the caller's balance; returns the total paid.
    function batchTransfer(bytes32[] calldata words) external returns (uint256 total);

    /// @notice Pay every payee in `words` from `from`, spending the caller's allowance once.
    function batchTransferFrom(address from, bytes32[] calldata words) external returns (uint256 total);
}
