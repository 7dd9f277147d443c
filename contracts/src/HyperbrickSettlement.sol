// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBatchToken} from "./IBatchToken.sol";

/// @title HyperbrickSettlement
/// @notice Escrow and batch payouts for the Hyperbrick network.
/// A requestor (the funder) deposits tokens into an escrow that is locked until its expiry. Until
/// then the settler pays providers and service owners from it in batches (packed words, see
/// PackedPayouts); from the expiry on, the funder withdraws the remainder. Every batch carries an id
/// that executes at most once, across escrow and settler-funded batches alike.
/// Roles: DEFAULT_ADMIN_ROLE grants and revokes roles and may recover tokens sent here outside a
/// deposit (never escrowed funds); SETTLER_ROLE executes batches.
/// Invariant: token.balanceOf(this) == totalEscrowed == sum of open escrow balances (plus any
/// tokens transferred here directly, which only recoverSurplus can move).
contract HyperbrickSettlement is AccessControl {
    using SafeERC20 for IBatchToken;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");

    // _TIMESTAMP_NOTE: slither's `timestamp` finding (low) is accepted where marked. Expiries are
    // locks of hours to days; a block producer can skew block.timestamp by seconds, which can at
    // most move a payout or withdrawal across the boundary by that much, never unlock early in a
    // way that matters or pay twice.

    /// @notice One escrow: who funded it, what is left and when it unlocks for the funder.
    /// (balance and expiry share one slot: a payout reads and writes only that slot.)
    struct Escrow {
        uint96 balance;
        uint64 expiry;
        address funder;
    }

    IBatchToken public immutable token;
    uint256 public nextEscrowId = 1;
    uint256 public totalEscrowed;
    mapping(uint256 escrowId => Escrow) private _escrows;
    /// @dev Executed batch ids as a bitmap: ids 256k..256k+255 share one slot, so with sequential
    /// ids all but one batch in 256 mark a slot that is already non-zero (~5k gas, not ~22k).
    mapping(uint256 slotIndex => uint256 bits) private _executedBatches;

    event EscrowDeposited(uint256 indexed escrowId, address indexed funder, uint256 amount, uint64 expiry);
    event EscrowToppedUp(uint256 indexed escrowId, uint256 amount, uint256 balance);
    event EscrowExtended(uint256 indexed escrowId, uint64 expiry);
    event EscrowPaid(uint256 indexed escrowId, uint256 indexed batchId, uint256 total, uint256 payees);
    event SettlerPaid(uint256 indexed batchId, address indexed settler, uint256 total, uint256 payees);
    event EscrowWithdrawn(uint256 indexed escrowId, address indexed funder, uint256 amount);
    event SurplusRecovered(address indexed to, uint256 amount);

    error ZeroAmount();
    error EmptyBatch();
    error ExpiryNotInFuture(uint64 expiry);
    error UnknownEscrow(uint256 escrowId);
    error NotFunder(uint256 escrowId, address caller);
    error EscrowExpired(uint256 escrowId, uint64 expiry);
    error EscrowLocked(uint256 escrowId, uint64 expiry);
    error BatchAlreadyExecuted(uint256 batchId);
    error InsufficientEscrow(uint256 escrowId, uint256 balance, uint256 needed);
    error BatchNotPaid(uint256 total);

    constructor(IBatchToken token_, address admin, address settler) {
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SETTLER_ROLE, settler);
    }

    // ---------------------------------------------------------------- funder

    /// @notice Lock `amount` of the caller's tokens (approved beforehand) until `expiry`.
    function deposit(uint256 amount, uint64 expiry) public returns (uint256 escrowId) {
        if (amount == 0) revert ZeroAmount();
        // Accepted slither low (timestamp), see _TIMESTAMP_NOTE.
        // slither-disable-next-line timestamp
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry);
        escrowId = nextEscrowId++;
        _escrows[escrowId] = Escrow(SafeCast.toUint96(amount), expiry, msg.sender);
        totalEscrowed += amount;
        emit EscrowDeposited(escrowId, msg.sender, amount, expiry);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice deposit() with an ERC-2612 permit instead of a prior approve. A permit that was
    /// front-run (already used) does not block the deposit while the allowance suffices.
    function depositWithPermit(uint256 amount, uint64 expiry, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 escrowId)
    {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        // Accepted slither lows (reentrancy-benign, reentrancy-events): deposit() writes state and
        // emits after the permit call by necessity (the allowance must exist first); the call goes
        // to the immutable token, whose permit makes no external calls, so nothing can re-enter.
        // slither-disable-next-line reentrancy-benign,reentrancy-events
        escrowId = deposit(amount, expiry);
    }

    /// @notice Add `amount` to an escrow of the caller's that has not expired.
    function topUp(uint256 escrowId, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Escrow storage escrow = _funderEscrow(escrowId);
        // Accepted slither low (timestamp), see _TIMESTAMP_NOTE.
        // slither-disable-next-line timestamp
        if (escrow.expiry <= block.timestamp) revert EscrowExpired(escrowId, escrow.expiry);
        uint96 balance = SafeCast.toUint96(escrow.balance + amount);
        escrow.balance = balance;
        totalEscrowed += amount;
        emit EscrowToppedUp(escrowId, amount, balance);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Move an escrow's expiry later (never earlier).
    function extendExpiry(uint256 escrowId, uint64 expiry) external {
        Escrow storage escrow = _funderEscrow(escrowId);
        if (expiry <= escrow.expiry) revert ExpiryNotInFuture(expiry);
        escrow.expiry = expiry;
        emit EscrowExtended(escrowId, expiry);
    }

    /// @notice After the expiry, pay the remainder of an escrow back to its funder.
    function withdraw(uint256 escrowId) external returns (uint256 amount) {
        Escrow storage escrow = _funderEscrow(escrowId);
        // Accepted slither low (timestamp), see _TIMESTAMP_NOTE.
        // slither-disable-next-line timestamp
        if (escrow.expiry > block.timestamp) revert EscrowLocked(escrowId, escrow.expiry);
        amount = escrow.balance;
        if (amount == 0) revert ZeroAmount();
        escrow.balance = 0;
        totalEscrowed -= amount;
        emit EscrowWithdrawn(escrowId, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- settler

    /// @notice Pay a batch of payees from an escrow that has not expired; `batchId` runs once.
    /// `total` must equal the sum of the amounts in `words` (the token checks it), so the escrow
    /// is debited before the transfer without a second pass over the words.
    function payout(uint256 escrowId, uint256 batchId, uint256 total, bytes32[] calldata words)
        external
        onlyRole(SETTLER_ROLE)
    {
        _claimBatch(batchId, words.length);
        Escrow storage escrow = _escrows[escrowId];
        uint64 expiry = escrow.expiry;
        if (expiry == 0) revert UnknownEscrow(escrowId);
        // Accepted slither low (timestamp), see _TIMESTAMP_NOTE.
        // slither-disable-next-line timestamp
        if (expiry <= block.timestamp) revert EscrowExpired(escrowId, expiry);
        uint256 balance = escrow.balance;
        if (total > balance) revert InsufficientEscrow(escrowId, balance, total);
        // Cannot underflow: total <= balance <= totalEscrowed.
        unchecked {
            escrow.balance = uint96(balance - total);
            totalEscrowed -= total;
        }
        emit EscrowPaid(escrowId, batchId, total, words.length);
        _forwardBatch(IBatchToken.batchTransfer.selector, address(0), words, total);
    }

    /// @notice Pay a batch from the settler's own balance (approved to this contract); `batchId`
    /// runs once, sharing the id space with escrow batches.
    function payoutFromSettler(uint256 batchId, uint256 total, bytes32[] calldata words)
        external
        onlyRole(SETTLER_ROLE)
    {
        _claimBatch(batchId, words.length);
        emit SettlerPaid(batchId, msg.sender, total, words.length);
        _forwardBatch(IBatchToken.batchTransferFrom.selector, msg.sender, words, total);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Send tokens that reached this contract outside a deposit to `to`; escrowed funds
    /// are never touched.
    function recoverSurplus(address to) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 amount) {
        uint256 held = token.balanceOf(address(this));
        if (held <= totalEscrowed) revert ZeroAmount();
        amount = held - totalEscrowed;
        emit SurplusRecovered(to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice The escrow `escrowId` (all zero when it does not exist).
    function escrows(uint256 escrowId) external view returns (address funder, uint256 balance, uint64 expiry) {
        Escrow storage escrow = _escrows[escrowId];
        return (escrow.funder, escrow.balance, escrow.expiry);
    }

    /// @notice Whether batch `batchId` has executed (escrow or settler-funded).
    function batchExecuted(uint256 batchId) public view returns (bool) {
        return _executedBatches[batchId >> 8] & (1 << (batchId & 0xff)) != 0;
    }

    // ---------------------------------------------------------------- internals

    function _claimBatch(uint256 batchId, uint256 payees) private {
        if (payees == 0) revert EmptyBatch();
        uint256 bit = 1 << (batchId & 0xff);
        uint256 bits = _executedBatches[batchId >> 8];
        if (bits & bit != 0) revert BatchAlreadyExecuted(batchId);
        _executedBatches[batchId >> 8] = bits | bit;
    }

    function _funderEscrow(uint256 escrowId) private view returns (Escrow storage escrow) {
        escrow = _escrows[escrowId];
        if (escrow.funder == address(0)) revert UnknownEscrow(escrowId);
        if (escrow.funder != msg.sender) revert NotFunder(escrowId, msg.sender);
    }

    /// @dev Call token.batchTransfer(words) (from == 0) or token.batchTransferFrom(from, words),
    /// copying the words with one calldatacopy: Solidity's encoder copies a calldata array word by
    /// word, which costs ~40 gas per payee. Bubbles a revert up; requires the token to report
    /// exactly `total` paid: the settler declares the total, the token sums the words.
    function _forwardBatch(bytes4 selector, address from, bytes32[] calldata words, uint256 total) private {
        address target = address(token);
        bool paidAsExpected;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            let head := add(ptr, 0x04)
            if from {
                mstore(head, from)
                head := add(head, 0x20)
            }
            // Offset of the array from the start of the arguments, then its length and words.
            mstore(head, sub(add(head, 0x20), add(ptr, 0x04)))
            mstore(add(head, 0x20), words.length)
            let size := shl(5, words.length)
            calldatacopy(add(head, 0x40), words.offset, size)
            let success := call(gas(), target, 0, ptr, sub(add(add(head, 0x40), size), ptr), 0x00, 0x20)
            if iszero(success) {
                returndatacopy(ptr, 0x00, returndatasize())
                revert(ptr, returndatasize())
            }
            paidAsExpected := and(eq(returndatasize(), 0x20), eq(mload(0x00), total))
        }
        if (!paidAsExpected) revert BatchNotPaid(total);
    }
}
