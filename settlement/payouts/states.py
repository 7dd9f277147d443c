"""The payout/batch state machine: its states, allowed transitions, and the guard enforcing them.

A payout row and the batch that carries it move together (one DB transaction updates both)::

    PENDING --cut--> BATCHED --sign (nonce + raw tx persisted)--> SIGNED
                                                               | broadcast (or "already known")
                                                               v
    BROADCAST <------------- fee bump: new attempt, SAME nonce --+
       |  ^   +--------------------------------------------------+
       |  | reorg: receipt gone / block hash changed
       v  |
      MINED --K confirmations (L1 chain)--------------------------------------> FINAL
       |  +--K confirmations (zkSync L2)--> SEQUENCER_CONFIRMED --executed on L1--> FINAL
       +--receipt status 0--> REVERTED (its payouts go back to PENDING for a new batch; the
                              batch id never executed on-chain: the revert rolled it back)

SIGNED may also go straight to MINED ("send reported failed but mined"). SIGNED and BROADCAST go
back to BATCHED when the chain shows the nonce used by another transaction of the same key and no
attempt of ours mined (re-signed at a fresh nonce; the contract's one-shot batch id keeps that
safe). SEQUENCER_CONFIRMED may go back to BROADCAST on an L2 reorg. FINAL and REVERTED are
terminal for a batch. `Finality` says which level a FINAL batch waited for: `l1_confirmations`
(K blocks on an L1) or `executed_on_l1` (a zkSync batch executed on Ethereum);
SEQUENCER_CONFIRMED is never called final.
"""

from __future__ import annotations

from enum import StrEnum

from settlement.errors import FatalSettlementError


class PayoutState(StrEnum):
    """Where a payout (and its batch) stands."""

    PENDING = "pending"
    BATCHED = "batched"
    SIGNED = "signed"
    BROADCAST = "broadcast"
    MINED = "mined"
    SEQUENCER_CONFIRMED = "sequencer_confirmed"
    FINAL = "final"
    REVERTED = "reverted"


class Finality(StrEnum):
    """The confirmation level a batch has reached."""

    NONE = "none"
    SEQUENCER_CONFIRMED = "sequencer_confirmed"
    L1_CONFIRMATIONS = "l1_confirmations"
    EXECUTED_ON_L1 = "executed_on_l1"


_S = PayoutState
ALLOWED_TRANSITIONS: dict[PayoutState, frozenset[PayoutState]] = {
    _S.PENDING: frozenset({_S.BATCHED}),
    _S.BATCHED: frozenset({_S.SIGNED}),
    _S.SIGNED: frozenset({_S.BROADCAST, _S.MINED, _S.BATCHED}),
    _S.BROADCAST: frozenset({_S.BROADCAST, _S.MINED, _S.BATCHED}),
    _S.MINED: frozenset({_S.BROADCAST, _S.FINAL, _S.SEQUENCER_CONFIRMED, _S.REVERTED}),
    _S.SEQUENCER_CONFIRMED: frozenset({_S.BROADCAST, _S.FINAL}),
    _S.FINAL: frozenset(),
    _S.REVERTED: frozenset(),
}
# States whose on-chain effect may still change: the sender and confirmer watch these.
IN_FLIGHT = frozenset({_S.SIGNED, _S.BROADCAST, _S.MINED, _S.SEQUENCER_CONFIRMED})
# States that still owe the payee money (not yet final).
UNPAID = frozenset(set(PayoutState) - {_S.FINAL, _S.REVERTED})


class IllegalTransitionError(FatalSettlementError, ValueError):
    """A state change that the state machine does not allow (a bug, never retried)."""


def check_transition(current: str, target: PayoutState) -> PayoutState:
    """Return `target` if `current -> target` is allowed, else raise IllegalTransitionError."""
    state = PayoutState(current)
    if target not in ALLOWED_TRANSITIONS[state]:
        raise IllegalTransitionError(f"payout transition {state} -> {target} is not allowed")
    return target
