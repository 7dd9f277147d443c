// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {HyperbrickSettlement} from "../src/HyperbrickSettlement.sol";
import {HyperbrickToken} from "../src/HyperbrickToken.sol";
import {PackedPayouts} from "../src/PackedPayouts.sol";
import {Test} from "./utils/Test.sol";

contract HyperbrickSettlementTest is Test {
    event EscrowDeposited(uint256 indexed escrowId, address indexed funder, uint256 amount, uint64 expiry);
    event EscrowPaid(uint256 indexed escrowId, uint256 indexed batchId, uint256 total, uint256 payees);
    event SettlerPaid(uint256 indexed batchId, address indexed settler, uint256 total, uint256 payees);
    event EscrowWithdrawn(uint256 indexed escrowId, address indexed funder, uint256 amount);

    HyperbrickToken internal token;
    HyperbrickSettlement internal settlement;
    address internal admin = address(0xA11CE);
    address internal settler = address(0x5E77);
    address internal funder = address(0xF00D);
    address internal stranger = address(0xBAD);
    uint64 internal expiry;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new HyperbrickToken(admin, admin);
        settlement = new HyperbrickSettlement(token, admin, settler);
        expiry = uint64(block.timestamp + 1 days);
        vm.startPrank(admin);
        token.mint(funder, 1_000 ether);
        token.mint(settler, 1_000 ether);
        vm.stopPrank();
        vm.prank(funder);
        token.approve(address(settlement), type(uint256).max);
        vm.prank(settler);
        token.approve(address(settlement), type(uint256).max);
    }

    function _deposit(uint256 amount) internal returns (uint256 id) {
        vm.prank(funder);
        id = settlement.deposit(amount, expiry);
    }

    function _batch(uint256 n, uint96 amount) internal pure returns (bytes32[] memory words) {
        words = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            words[i] = PackedPayouts.pack(address(uint160(0x1000 + i)), amount);
        }
    }

    function _escrowBalance(uint256 id) internal view returns (uint256 balance) {
        (, balance,) = settlement.escrows(id);
    }

    function test_depositLocksTokensAndEmits() public {
        vm.expectEmit(true, true, false, true);
        emit EscrowDeposited(1, funder, 100 ether, expiry);
        uint256 id = _deposit(100 ether);
        assertEq(id, 1, "first id");
        (address who, uint256 balance, uint64 until) = settlement.escrows(id);
        assertEq(who, funder, "funder");
        assertEq(balance, 100 ether, "balance");
        assertEq(until, expiry, "expiry");
        assertEq(token.balanceOf(address(settlement)), 100 ether, "held");
        assertEq(settlement.totalEscrowed(), 100 ether, "total escrowed");
    }

    function test_depositRejectsZeroAndPastExpiry() public {
        vm.startPrank(funder);
        vm.expectRevert(HyperbrickSettlement.ZeroAmount.selector);
        settlement.deposit(0, expiry);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.ExpiryNotInFuture.selector, uint64(block.timestamp)));
        settlement.deposit(1, uint64(block.timestamp));
        vm.stopPrank();
    }

    function test_depositWithPermit() public {
        uint256 key = 0xF00D5;
        address owner = vm.addr(key);
        vm.prank(admin);
        token.mint(owner, 5 ether);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(settlement),
                5 ether,
                0,
                block.timestamp
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        vm.prank(owner);
        uint256 id = settlement.depositWithPermit(5 ether, expiry, block.timestamp, v, r, s);
        assertEq(_escrowBalance(id), 5 ether, "permit deposit");
    }

    function test_payoutPaysFromEscrowOnce() public {
        uint256 id = _deposit(100 ether);
        bytes32[] memory words = _batch(3, 2 ether);
        vm.expectEmit(true, true, false, true);
        emit EscrowPaid(id, 42, 6 ether, 3);
        vm.prank(settler);
        settlement.payout(id, 42, 6 ether, words);
        assertEq(_escrowBalance(id), 94 ether, "escrow debited");
        assertEq(token.balanceOf(address(0x1000)), 2 ether, "payee paid");
        assertEq(token.balanceOf(address(settlement)), 94 ether, "conservation");
        assertTrue(settlement.batchExecuted(42), "batch marked");
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.BatchAlreadyExecuted.selector, 42));
        vm.prank(settler);
        settlement.payout(id, 42, 6 ether, words);
    }

    function test_batchIdsAreSharedAcrossPayoutKinds() public {
        uint256 id = _deposit(100 ether);
        vm.prank(settler);
        settlement.payoutFromSettler(7, 1 ether, _batch(1, 1 ether));
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.BatchAlreadyExecuted.selector, 7));
        vm.prank(settler);
        settlement.payout(id, 7, 1 ether, _batch(1, 1 ether));
    }

    function test_batchBitmapKeepsNeighboursApart() public {
        uint256 id = _deposit(100 ether);
        vm.startPrank(settler);
        settlement.payout(id, 255, 1 ether, _batch(1, 1 ether));
        settlement.payout(id, 256, 1 ether, _batch(1, 1 ether));
        vm.stopPrank();
        assertTrue(!settlement.batchExecuted(254) && !settlement.batchExecuted(257), "neighbours unset");
        assertTrue(settlement.batchExecuted(255) && settlement.batchExecuted(256), "ids set");
        assertTrue(!settlement.batchExecuted(type(uint256).max), "max id unset");
    }

    function test_onlySettlerPays() public {
        uint256 id = _deposit(100 ether);
        bytes32 role = settlement.SETTLER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, funder, role)
        );
        vm.prank(funder);
        settlement.payout(id, 1, 1 ether, _batch(1, 1 ether));
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        settlement.payoutFromSettler(1, 1 ether, _batch(1, 1 ether));
    }

    function test_payoutRejectsWrongTotalOverdraftEmptyUnknownAndExpired() public {
        uint256 id = _deposit(10 ether);
        vm.startPrank(settler);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.BatchNotPaid.selector, 5 ether));
        settlement.payout(id, 1, 5 ether, _batch(2, 1 ether));
        vm.expectRevert(
            abi.encodeWithSelector(HyperbrickSettlement.InsufficientEscrow.selector, id, 10 ether, 11 ether)
        );
        settlement.payout(id, 1, 11 ether, _batch(11, 1 ether));
        vm.expectRevert(HyperbrickSettlement.EmptyBatch.selector);
        settlement.payout(id, 1, 0, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.UnknownEscrow.selector, 99));
        settlement.payout(99, 1, 1 ether, _batch(1, 1 ether));
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.EscrowExpired.selector, id, expiry));
        settlement.payout(id, 1, 1 ether, _batch(1, 1 ether));
        vm.stopPrank();
        assertTrue(!settlement.batchExecuted(1), "failed batches leave the id unused");
    }

    function test_payoutCannotPayTheSettlementItself() public {
        uint256 id = _deposit(10 ether);
        bytes32[] memory words = new bytes32[](1);
        words[0] = PackedPayouts.pack(address(settlement), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(settlement)));
        vm.prank(settler);
        settlement.payout(id, 1, 1 ether, words);
    }

    function test_payoutFromSettlerUsesOwnBalance() public {
        vm.expectEmit(true, true, false, true);
        emit SettlerPaid(9, settler, 4 ether, 2);
        vm.prank(settler);
        settlement.payoutFromSettler(9, 4 ether, _batch(2, 2 ether));
        assertEq(token.balanceOf(settler), 996 ether, "settler debited");
        assertEq(token.balanceOf(address(settlement)), 0, "nothing held");
    }

    function test_withdrawOnlyAfterExpiryOnlyFunderOnce() public {
        uint256 id = _deposit(100 ether);
        vm.prank(settler);
        settlement.payout(id, 1, 30 ether, _batch(3, 10 ether));
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.EscrowLocked.selector, id, expiry));
        vm.prank(funder);
        settlement.withdraw(id);
        vm.warp(expiry);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.NotFunder.selector, id, stranger));
        vm.prank(stranger);
        settlement.withdraw(id);
        vm.expectEmit(true, true, false, true);
        emit EscrowWithdrawn(id, funder, 70 ether);
        vm.prank(funder);
        assertEq(settlement.withdraw(id), 70 ether, "remainder");
        assertEq(token.balanceOf(funder), 970 ether, "funder refunded");
        assertEq(token.balanceOf(address(settlement)), 0, "empty");
        vm.expectRevert(HyperbrickSettlement.ZeroAmount.selector);
        vm.prank(funder);
        settlement.withdraw(id);
    }

    function test_topUpAndExtend() public {
        uint256 id = _deposit(10 ether);
        vm.startPrank(funder);
        settlement.topUp(id, 5 ether);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.ExpiryNotInFuture.selector, expiry));
        settlement.extendExpiry(id, expiry);
        settlement.extendExpiry(id, expiry + 1 days);
        vm.stopPrank();
        (, uint256 balance, uint64 until) = settlement.escrows(id);
        assertEq(balance, 15 ether, "topped up");
        assertEq(until, expiry + 1 days, "extended");
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.NotFunder.selector, id, stranger));
        vm.prank(stranger);
        settlement.topUp(id, 1 ether);
        vm.warp(expiry + 1 days);
        vm.expectRevert(abi.encodeWithSelector(HyperbrickSettlement.EscrowExpired.selector, id, expiry + 1 days));
        vm.prank(funder);
        settlement.topUp(id, 1 ether);
    }

    function test_recoverSurplusNeverTouchesEscrows() public {
        _deposit(10 ether);
        vm.prank(settler);
        token.transfer(address(settlement), 3 ether); // sent outside a deposit
        vm.expectRevert();
        vm.prank(stranger);
        settlement.recoverSurplus(stranger);
        vm.prank(admin);
        assertEq(settlement.recoverSurplus(admin), 3 ether, "surplus only");
        assertEq(token.balanceOf(address(settlement)), settlement.totalEscrowed(), "escrow intact");
        vm.expectRevert(HyperbrickSettlement.ZeroAmount.selector);
        vm.prank(admin);
        settlement.recoverSurplus(admin);
    }

    function testFuzz_payoutConserves(uint96 deposit, uint8 n, uint96 amount, uint256 batchId) public {
        deposit = uint96(bound(deposit, 1, 1_000 ether));
        n = uint8(bound(n, 1, 50));
        amount = uint96(bound(amount, 0, deposit / n));
        uint256 id = _deposit(deposit);
        vm.prank(settler);
        settlement.payout(id, batchId, uint256(n) * amount, _batch(n, amount));
        assertEq(_escrowBalance(id), deposit - uint256(n) * amount, "escrow debited by total");
        assertEq(token.balanceOf(address(settlement)), _escrowBalance(id), "balance equals escrow");
        assertTrue(settlement.batchExecuted(batchId), "batch marked");
    }
}
