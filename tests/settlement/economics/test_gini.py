"""The Gini of incomes: exact to float rounding, and the same on every machine."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.economics import gini

_SAMPLE = """
import numpy as np
from settlement.economics import gini
values = np.random.default_rng(5).integers(0, 10**15, 65_537)
print(gini(values).hex())
"""


def _exact(values: list[int]) -> Fraction:
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    weighted = sum(rank * v for rank, v in enumerate(ordered, start=1))
    return Fraction(2 * weighted, n * total) - Fraction(n + 1, n)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**18), min_size=1, max_size=300))
def test_gini_matches_the_exact_value(values: list[int]) -> None:
    got = gini(np.array(values, dtype=np.int64))
    if sum(values) == 0:
        assert got == 0.0
        return
    assert abs(got - float(_exact(values))) <= 1e-12


def test_gini_does_not_depend_on_the_blas_thread_count() -> None:
    # A BLAS dot product over 65k values splits its sum across threads: the result's last bits
    # then changed with the machine's core count, and so would a run's KPIs.
    def run(threads: int) -> str:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads)}
        done = subprocess.run(
            [sys.executable, "-c", _SAMPLE], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert run(1) == run(2)
