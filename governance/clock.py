"""The clock port: the shells read time through it so the policy core never does."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock time in seconds since the epoch."""

    def now_s(self) -> float:
        """Return the current time in seconds."""
        ...


class SystemClock:
    """The real clock."""

    def now_s(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told: deterministic tests and the simulator's step clock."""

    def __init__(self, start_s: float = 1_700_000_000.0) -> None:
        self._now_s = start_s

    def now_s(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        """Move time forward (never backward: the policy assumes monotone time)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backward")
        self._now_s += seconds
