"""The bulk float32 normal draws equal numpy's, and leave the generator where numpy leaves it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.normal_draws import standard_normal_f32, ziggurat_jit


def _pair(seed: int, odd: bool) -> tuple[np.random.Generator, np.random.Generator]:
    """Two equal generators; ``odd``: each holding a kept 32-bit half (one float32 drawn)."""
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    if odd:
        a.random(dtype=np.float32)
        b.random(dtype=np.float32)
    return a, b


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(0, 3000), min_size=1, max_size=4),
    odd=st.booleans(),
)
def test_draws_and_end_state_equal_numpy(seed: int, sizes: list[int], odd: bool) -> None:
    want_rng, got_rng = _pair(seed, odd)
    for size in sizes:
        want = want_rng.standard_normal(size, dtype=np.float32)
        got = standard_normal_f32(got_rng, size, np.full(size, np.nan, dtype=np.float32))
        assert got.tobytes() == want.tobytes()
        assert got_rng.bit_generator.state == want_rng.bit_generator.state
    # the next draws of any kind agree too
    assert got_rng.random(3).tobytes() == want_rng.random(3).tobytes()
    assert got_rng.random(1, dtype=np.float32).tobytes() == want_rng.random(1, np.float32).tobytes()


def test_a_million_draws_through_tails_and_wedges_equal_numpy() -> None:
    """Enough draws that the rare paths run (~0.7% wedges, ~0.1% tails) thousands of times."""
    want_rng, got_rng = _pair(20261122, True)
    want = want_rng.standard_normal(1_000_001, dtype=np.float32)
    got = standard_normal_f32(got_rng, want.size)
    assert got.tobytes() == want.tobytes()
    assert got_rng.bit_generator.state == want_rng.bit_generator.state
    assert np.count_nonzero(np.abs(want) > np.float32(3.6541529)) > 100  # tail draws were made


def test_running_out_of_words_is_reported() -> None:
    words = np.random.default_rng(1).bit_generator.random_raw(8).view(np.uint32)
    out = np.empty(17, dtype=np.float32)
    assert ziggurat_jit(words, np.uint32(0), False, out) == -1


def test_another_bit_generator_is_drawn_by_numpy() -> None:
    a, b = np.random.Generator(np.random.MT19937(5)), np.random.Generator(np.random.MT19937(5))
    assert standard_normal_f32(a, 100).tobytes() == b.standard_normal(100, np.float32).tobytes()
