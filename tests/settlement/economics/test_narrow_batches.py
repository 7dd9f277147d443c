"""Request batch columns in int32 settle exactly as the same columns in int64, on every path."""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import (
    EconomicsParams,
    StepActivity,
    initial_controller,
    new_book,
    settle_step,
)

PROVIDERS, OWNERS, REQUESTORS = 6, 3, 2
ACCOUNTS = PROVIDERS + OWNERS + REQUESTORS
COLUMNS = ("request_payer", "request_provider", "request_owner", "request_count")

batch = st.tuples(
    st.integers(PROVIDERS + OWNERS, ACCOUNTS - 1),
    st.integers(0, PROVIDERS - 1),
    st.integers(PROVIDERS, PROVIDERS + OWNERS - 1),
    # counts whose price overflows int32 (and the int64 table): the widened numpy path's
    st.one_of(st.integers(0, 50), st.integers(2**30, 2**31 - 1)),
)


def _arr(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


@settings(max_examples=80, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.lists(st.integers(0, 8), min_size=PROVIDERS, max_size=PROVIDERS),
                  st.lists(batch, max_size=8)),
        min_size=1,
        max_size=4,
    ),
    narrow=st.sets(st.sampled_from(COLUMNS), min_size=1),
    path=st.sampled_from(["compiled", "per_batch", "outside"]),
)  # fmt: skip
def test_int32_batch_columns_settle_as_int64_ones(steps: list, narrow: set[str], path: str) -> None:
    params = EconomicsParams(token_lifetime_steps=2, refresh_grace_steps=1)
    book, ref = new_book(ACCOUNTS), new_book(ACCOUNTS)
    ctl = ref_ctl = initial_controller(params)
    for now, (caps, batches) in enumerate(steps):
        wide = StepActivity(
            now_step=now,
            active_nodes=sum(c > 0 for c in caps),
            capacity_units=_arr(caps),
            request_payer=_arr([b[0] for b in batches]),
            # outside: a provider account beyond the node rows (the general path)
            request_provider=_arr(
                [
                    ACCOUNTS - 1 if path == "outside" and i % 2 else b[1]
                    for i, b in enumerate(batches)
                ]
            ),
            request_owner=_arr([b[2] for b in batches]),
            request_count=_arr([b[3] for b in batches]),
            placement_payer=_arr([PROVIDERS]),
        )
        narrowed = {name: getattr(wide, name).astype(np.int32) for name in narrow}
        act = dataclasses.replace(wide, **narrowed)
        with mock.patch(
            "settlement.economics.split.TABLE_MAX", 0 if path == "per_batch" else 1 << 16
        ):
            flows = settle_step(book, ctl, params, act)
            want = settle_step(ref, ref_ctl, params, wide)
        assert flows == want
        for column in ("balance", "expires_at_step", "income"):
            assert getattr(book, column).tolist() == getattr(ref, column).tolist()
        assert book.supply_base_units == ref.supply_base_units
        ctl, ref_ctl = flows.controller, want.controller
