// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";

import {HyperbrickToken} from "../src/HyperbrickToken.sol";
import {PackedPayouts} from "../src/PackedPayouts.sol";
import {Test} from "./utils/Test.sol";

contract HyperbrickTokenTest is Test {
    event Transfer(address indexed from, address indexed to, uint256 value);

    HyperbrickToken internal token;
    address internal admin = address(0xA11CE);
    address internal minter = address(0xB0B);
    address internal payer = address(0xCAFE);

    function setUp() public {
        token = new HyperbrickToken(admin, minter);
        vm.prank(minter);
        token.mint(payer, 1_000_000 ether);
    }

    function _words(address[] memory payees, uint96 amount) internal pure returns (bytes32[] memory words) {
        words = new bytes32[](payees.length);
        for (uint256 i = 0; i < payees.length; i++) {
            words[i] = PackedPayouts.pack(payees[i], amount);
        }
    }

    function _payees(uint256 n, uint256 seed) internal pure returns (address[] memory payees) {
        payees = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            payees[i] = address(uint160(uint256(keccak256(abi.encode(seed, i)))));
        }
    }

    function test_metadataAndRoles() public view {
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.cap(), 1_000_000_000 ether, "cap");
        assertTrue(token.hasRole(token.DEFAULT_ADMIN_ROLE(), admin), "admin role");
        assertTrue(token.hasRole(token.MINTER_ROLE(), minter), "minter role");
        assertTrue(!token.hasRole(token.MINTER_ROLE(), admin), "admin is not minter");
    }

    function test_onlyMinterMints() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, payer, token.MINTER_ROLE()
            )
        );
        vm.prank(payer);
        token.mint(payer, 1);
    }

    function test_mintNeverExceedsCap() public {
        uint256 room = token.cap() - token.totalSupply();
        vm.prank(minter);
        token.mint(admin, room);
        vm.expectRevert(abi.encodeWithSelector(ERC20Capped.ERC20ExceededCap.selector, token.cap() + 1, token.cap()));
        vm.prank(minter);
        token.mint(admin, 1);
    }

    function test_burnFreesRoomUnderCap() public {
        vm.prank(payer);
        token.burn(1 ether);
        assertEq(token.totalSupply(), 999_999 ether, "supply after burn");
    }

    function test_balancesSlotIsZero() public view {
        // _batchPay writes balances at a hard-coded slot; it must be ERC20's _balances.
        bytes32 slot = keccak256(abi.encode(payer, uint256(0)));
        assertEq(uint256(vm.load(address(token), slot)), token.balanceOf(payer), "balances slot");
    }

    function test_batchTransferPaysEveryPayeeAndEmits() public {
        address[] memory payees = _payees(3, 1);
        bytes32[] memory words = _words(payees, 5 ether);
        vm.expectEmit(true, true, false, true);
        emit Transfer(payer, payees[0], 5 ether);
        vm.prank(payer);
        uint256 total = token.batchTransfer(words);
        assertEq(total, 15 ether, "total");
        for (uint256 i = 0; i < payees.length; i++) {
            assertEq(token.balanceOf(payees[i]), 5 ether, "payee balance");
        }
        assertEq(token.balanceOf(payer), 1_000_000 ether - 15 ether, "payer debited once");
        assertEq(token.totalSupply(), 1_000_000 ether, "supply unchanged");
    }

    function test_batchTransferRepeatedPayeeAddsUp() public {
        bytes32[] memory words = new bytes32[](2);
        words[0] = PackedPayouts.pack(admin, 1 ether);
        words[1] = PackedPayouts.pack(admin, 2 ether);
        vm.prank(payer);
        token.batchTransfer(words);
        assertEq(token.balanceOf(admin), 3 ether, "repeated payee");
    }

    function test_batchTransferRejectsZeroAndSelf() public {
        bytes32[] memory words = new bytes32[](1);
        words[0] = PackedPayouts.pack(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(payer);
        token.batchTransfer(words);
        words[0] = PackedPayouts.pack(payer, 1);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, payer));
        vm.prank(payer);
        token.batchTransfer(words);
    }

    function test_unfundedBatchRevertsWhole() public {
        address[] memory payees = _payees(2, 2);
        bytes32[] memory words = _words(payees, 600_000 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, payer, 1_000_000 ether, 1_200_000 ether
            )
        );
        vm.prank(payer);
        token.batchTransfer(words);
    }

    function test_batchTransferFromSpendsAllowanceOnce() public {
        address[] memory payees = _payees(4, 3);
        bytes32[] memory words = _words(payees, 1 ether);
        vm.prank(payer);
        token.approve(admin, 10 ether);
        vm.prank(admin);
        token.batchTransferFrom(payer, words);
        assertEq(token.allowance(payer, admin), 6 ether, "allowance spent by total");
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, minter, 0, 4 ether)
        );
        vm.prank(minter);
        token.batchTransferFrom(payer, words);
    }

    function test_batchTransferFromZeroSenderReverts() public {
        bytes32[] memory words = new bytes32[](1);
        words[0] = PackedPayouts.pack(admin, 0);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidSender.selector, address(0)));
        token.batchTransferFrom(address(0), words);
    }

    function test_permitSetsAllowance() public {
        uint256 key = 0xA71CE;
        address owner = vm.addr(key);
        vm.prank(minter);
        token.mint(owner, 10 ether);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                admin,
                3 ether,
                token.nonces(owner),
                block.timestamp + 1
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, admin, 3 ether, block.timestamp + 1, v, r, s);
        assertEq(token.allowance(owner, admin), 3 ether, "permit allowance");
        assertEq(token.nonces(owner), 1, "nonce used");
    }

    function testFuzz_batchConservesSupply(uint256 n, uint96 amount, uint256 seed) public {
        n = bound(n, 1, 40);
        amount = uint96(bound(amount, 0, 1_000_000 ether / 40));
        address[] memory payees = _payees(n, seed);
        for (uint256 i = 0; i < n; i++) {
            vm.assume(payees[i] != payer && payees[i] != address(0));
        }
        uint256 supply = token.totalSupply();
        vm.prank(payer);
        uint256 total = token.batchTransfer(_words(payees, amount));
        assertEq(total, n * amount, "total");
        assertEq(token.totalSupply(), supply, "supply conserved");
        uint256 sum = token.balanceOf(payer);
        for (uint256 i = 0; i < n; i++) {
            // Only count each distinct payee once.
            bool seen = false;
            for (uint256 j = 0; j < i; j++) {
                if (payees[j] == payees[i]) seen = true;
            }
            if (!seen) sum += token.balanceOf(payees[i]);
        }
        assertEq(sum, 1_000_000 ether, "balances sum to the minted amount");
    }

    function testFuzz_packRoundTrip(address payee, uint96 amount) public pure {
        (address p, uint256 a) = PackedPayouts.unpack(PackedPayouts.pack(payee, amount));
        assertEq(p, payee, "payee");
        assertEq(a, amount, "amount");
    }
}
