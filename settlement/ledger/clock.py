"""Wall-clock milliseconds for ledger timestamps (the only clock the ledger reads)."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Return the current Unix time in whole milliseconds."""
    return time.time_ns() // 1_000_000
