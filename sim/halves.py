"""Run a compiled pass as two halves at once: one on the calling thread, one on the worker.

The passes of `serve` and the step's KPIs are row loops whose kernels release the GIL, and they run
while the worker thread is idle (the previous step's economics is settled before serving). Each half
writes only its own rows, and integer totals add up the same in any order, so results are identical
to one whole pass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import TypeVar

#: Below this many rows a thread hand-off (~50 us) costs more than half a pass saves.
MIN_ROWS = 1 << 17
#: The GIL hand-over interval while two threads share a step (the interpreter's default: 5 ms).
SWITCH_INTERVAL_S = 2e-4

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


@contextmanager
def quick_handover(seconds: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """Shorten the interpreter's GIL switch interval while the block runs; restore it after.

    Between compiled passes both threads run Python, which needs the GIL. With the default 5 ms
    interval, a thread that wants it can wait that long each time the other holds it through a
    call that does not release it: at 1e7 nodes, overlapped steps took 244-317 ms with the
    default against 235-238 ms with 0.2 ms (BENCHMARKS.md, session 6).
    """
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
