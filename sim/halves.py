"""Run a compiled pass as two halves at once: one on the calling thread, one on the worker.

The passes of `serve` and the step's KPIs are row loops whose kernels release the GIL, and they run
while the worker thread is idle (the previous step's economics is settled before serving). Each half
writes only its own rows, and integer totals add up the same in any order, so results are identical
to one whole pass.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

#: Below this many rows a thread hand-off (~50 us) costs more than half a pass saves.
MIN_ROWS = 1 << 17

A = TypeVar("A")
B = TypeVar("B")


def both(pool: Executor | None, first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``(first(), second())``, with ``second`` on ``pool`` meanwhile when one is given."""
    if pool is None:
        return first(), second()
    later = pool.submit(second)
    try:
        a = first()
    finally:
        b = later.result()  # even when ``first`` failed: no half may outlive the call
    return a, b


def worth_splitting(pool: Executor | None, rows: int) -> Executor | None:
    """``pool`` if a pass over ``rows`` rows is worth splitting, else None (run it whole)."""
    return pool if rows >= MIN_ROWS else None
