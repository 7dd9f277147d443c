"""The payout state machine: every listed transition is allowed, everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from settlement.payouts.states import (
    ALLOWED_TRANSITIONS,
    IllegalTransitionError,
    PayoutState,
    check_transition,
)


@pytest.mark.parametrize(("source", "target"), list(itertools.product(PayoutState, PayoutState)))
def test_only_documented_transitions_pass(source: PayoutState, target: PayoutState) -> None:
    if target in ALLOWED_TRANSITIONS[source]:
        assert check_transition(source, target) is target
    else:
        with pytest.raises(IllegalTransitionError):
            check_transition(source, target)


def test_final_is_reached_only_through_confirmation_states() -> None:
    into_final = {s for s, targets in ALLOWED_TRANSITIONS.items() if PayoutState.FINAL in targets}
    assert into_final == {PayoutState.MINED, PayoutState.SEQUENCER_CONFIRMED}
    assert ALLOWED_TRANSITIONS[PayoutState.FINAL] == frozenset()
    assert ALLOWED_TRANSITIONS[PayoutState.REVERTED] == frozenset()


def test_every_state_is_documented_in_the_module_docstring() -> None:
    import settlement.payouts.states as module

    assert module.__doc__ is not None
    for state in PayoutState:
        assert state.name in module.__doc__
