// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HyperbrickSettlement} from "../src/HyperbrickSettlement.sol";
import {HyperbrickToken} from "../src/HyperbrickToken.sol";
import {PackedPayouts} from "../src/PackedPayouts.sol";
import {Test} from "./utils/Test.sol";

/// @notice Drives the settlement contract with random deposits, top-ups, payouts (authorized and
/// not, fresh and repeated batch ids), withdrawals and time jumps, and keeps a ghost model of what
/// must have happened. Every call must succeed exactly when the model says it may.
contract SettlementHandler is Test {
    HyperbrickToken public immutable token;
    HyperbrickSettlement public immutable settlement;
    address public immutable admin;
    address public immutable settler;
    address[3] internal funders = [address(0xF1), address(0xF2), address(0xF3)];
    address[2] internal strangers = [address(0xE1), address(0xE2)];

    uint256[] public escrowIds;
    mapping(uint256 escrowId => uint256) public ghostBalance;
    mapping(uint256 batchId => bool) public ghostExecuted;
    uint256 public ghostOpenSum;
    uint256 public ghostMinted;
    uint256 public executedBatches;
    /// Violations: calls whose outcome contradicted the model (must stay zero).
    uint256 public unauthorizedSuccesses;
    uint256 public duplicateSuccesses;
    uint256 public expiredSuccesses;
    uint256 public earlyWithdrawals;
    uint256 public wrongOutcomes;

    constructor(HyperbrickToken token_, HyperbrickSettlement settlement_, address admin_, address settler_) {
        token = token_;
        settlement = settlement_;
        admin = admin_;
        settler = settler_;
        for (uint256 i = 0; i < funders.length; i++) {
            vm.prank(funders[i]);
            token.approve(address(settlement), type(uint256).max);
        }
        vm.prank(settler);
        token.approve(address(settlement), type(uint256).max);
    }

    function escrowCount() external view returns (uint256) {
        return escrowIds.length;
    }

    function deposit(uint256 funderSeed, uint256 amount, uint256 duration) external {
        address funder = funders[funderSeed % funders.length];
        amount = bound(amount, 1, 1_000 ether);
        uint64 expiry = uint64(block.timestamp + bound(duration, 1, 3 days));
        _mint(funder, amount);
        vm.prank(funder);
        uint256 id = settlement.deposit(amount, expiry);
        escrowIds.push(id);
        ghostBalance[id] = amount;
        ghostOpenSum += amount;
    }

    function topUp(uint256 escrowSeed, uint256 amount) external {
        if (escrowIds.length == 0) return;
        uint256 id = escrowIds[escrowSeed % escrowIds.length];
        (address funder,, uint64 expiry) = settlement.escrows(id);
        amount = bound(amount, 1, 100 ether);
        _mint(funder, amount);
        bool allowed = block.timestamp < expiry;
        vm.prank(funder);
        try settlement.topUp(id, amount) {
            if (!allowed) wrongOutcomes++;
            ghostBalance[id] += amount;
            ghostOpenSum += amount;
        } catch {
            if (allowed) wrongOutcomes++;
        }
    }

    function payout(uint256 escrowSeed, uint256 batchSeed, uint256 payees, uint256 amount) external {
        if (escrowIds.length == 0) return;
        uint256 id = escrowIds[escrowSeed % escrowIds.length];
        (uint256 batchId, bytes32[] memory words, uint256 total) = _batch(batchSeed, payees, amount);
        (,, uint64 expiry) = settlement.escrows(id);
        bool expired = block.timestamp >= expiry;
        bool allowed = !ghostExecuted[batchId] && !expired && total <= ghostBalance[id];
        vm.prank(settler);
        try settlement.payout(id, batchId, total, words) {
            if (ghostExecuted[batchId]) duplicateSuccesses++;
            if (expired) expiredSuccesses++;
            if (!allowed) wrongOutcomes++;
            ghostExecuted[batchId] = true;
            executedBatches++;
            ghostBalance[id] -= total;
            ghostOpenSum -= total;
        } catch {
            if (allowed) wrongOutcomes++;
        }
    }

    function payoutFromSettler(uint256 batchSeed, uint256 payees, uint256 amount) external {
        (uint256 batchId, bytes32[] memory words, uint256 total) = _batch(batchSeed, payees, amount);
        _mint(settler, total);
        bool allowed = !ghostExecuted[batchId];
        vm.prank(settler);
        try settlement.payoutFromSettler(batchId, total, words) {
            if (ghostExecuted[batchId]) duplicateSuccesses++;
            if (!allowed) wrongOutcomes++;
            ghostExecuted[batchId] = true;
            executedBatches++;
        } catch {
            if (allowed) wrongOutcomes++;
        }
    }

    function unauthorizedPayout(uint256 actorSeed, uint256 escrowSeed, uint256 batchSeed, uint256 amount) external {
        address actor = actorSeed % 2 == 0 ? strangers[actorSeed % strangers.length] : funders[actorSeed % 3];
        (uint256 batchId, bytes32[] memory words, uint256 total) = _batch(batchSeed, 1, amount);
        uint256 id = escrowIds.length == 0 ? 1 : escrowIds[escrowSeed % escrowIds.length];
        vm.prank(actor);
        try settlement.payout(id, batchId, total, words) {
            unauthorizedSuccesses++;
        } catch {}
        _mint(actor, total);
        vm.prank(actor);
        try settlement.payoutFromSettler(batchId, total, words) {
            unauthorizedSuccesses++;
        } catch {}
    }

    function withdraw(uint256 escrowSeed) external {
        if (escrowIds.length == 0) return;
        uint256 id = escrowIds[escrowSeed % escrowIds.length];
        (address funder,, uint64 expiry) = settlement.escrows(id);
        bool unlocked = block.timestamp >= expiry;
        bool allowed = unlocked && ghostBalance[id] > 0;
        uint256 before = token.balanceOf(funder);
        vm.prank(funder);
        try settlement.withdraw(id) returns (uint256 amount) {
            if (!unlocked) earlyWithdrawals++;
            if (!allowed || amount != ghostBalance[id] || token.balanceOf(funder) != before + amount) {
                wrongOutcomes++;
            }
            ghostOpenSum -= amount;
            ghostBalance[id] = 0;
        } catch {
            if (allowed) wrongOutcomes++;
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, 1 days));
    }

    function _mint(address to, uint256 amount) internal {
        vm.prank(admin);
        token.mint(to, amount);
        ghostMinted += amount;
    }

    /// @dev Batch ids come from a small range so that repeats are frequent.
    function _batch(uint256 batchSeed, uint256 payees, uint256 amount)
        internal
        pure
        returns (uint256 batchId, bytes32[] memory words, uint256 total)
    {
        batchId = batchSeed % 512;
        uint256 n = bound(payees, 1, 8);
        uint96 each = uint96(bound(amount, 0, 50 ether));
        words = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            words[i] = PackedPayouts.pack(address(uint160(0xBEEF00 + (batchSeed % 7) + i)), each);
        }
        total = n * each;
    }
}

contract HyperbrickSettlementInvariantTest is Test {
    HyperbrickToken internal token;
    HyperbrickSettlement internal settlement;
    SettlementHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        address admin = address(0xA11CE);
        address settler = address(0x5E77);
        token = new HyperbrickToken(admin, admin);
        settlement = new HyperbrickSettlement(token, admin, settler);
        handler = new SettlementHandler(token, settlement, admin, settler);
        targetContract(address(handler));
    }

    function invariant_conservationOfFunds() public view {
        uint256 held = token.balanceOf(address(settlement));
        assertEq(held, settlement.totalEscrowed(), "balance == totalEscrowed");
        assertEq(held, handler.ghostOpenSum(), "balance == sum of open escrows (model)");
        uint256 sum = 0;
        for (uint256 i = 0; i < handler.escrowCount(); i++) {
            uint256 id = handler.escrowIds(i);
            (, uint256 balance,) = settlement.escrows(id);
            assertEq(balance, handler.ghostBalance(id), "escrow balance == model");
            sum += balance;
        }
        assertEq(held, sum, "balance == sum of escrow balances (chain)");
        assertEq(token.totalSupply(), handler.ghostMinted(), "supply == minted");
    }

    function invariant_batchIdsExecuteOnce() public view {
        assertEq(handler.duplicateSuccesses(), 0, "a batch id executed twice");
        uint256 marked = 0;
        for (uint256 id = 0; id < 512; id++) {
            bool executed = settlement.batchExecuted(id);
            assertTrue(executed == handler.ghostExecuted(id), "executed ids == model");
            if (executed) marked++;
        }
        assertEq(marked, handler.executedBatches(), "one mark per executed batch");
    }

    function invariant_onlySettlerPays() public view {
        assertEq(handler.unauthorizedSuccesses(), 0, "a non-settler paid");
    }

    function invariant_expiryAndWithdrawalRules() public view {
        assertEq(handler.expiredSuccesses(), 0, "payout after expiry");
        assertEq(handler.earlyWithdrawals(), 0, "withdrawal before expiry");
        assertEq(handler.wrongOutcomes(), 0, "a call's outcome contradicted the model");
    }
}
