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


def over_rows(
    pool: Executor | None, rows: int, run: Callable[[int, int], A], cut: int | None = None
) -> list[A]:
    """``run(lo, hi)`` over rows ``[0, rows)``: one whole call, or two halves when worth it.

    The halves are ``[0, cut)`` here and ``[cut, rows)`` on ``pool`` (``cut``: the middle unless
    given). Returns the calls' results in row order: one, or two when split.
    """
    if pool is None or rows < MIN_ROWS:
        return [run(0, rows)]
    cut = rows // 2 if cut is None else cut
    first, second = both(pool, lambda: run(0, cut), lambda: run(cut, rows))
    return [first, second]
