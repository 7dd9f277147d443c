"""Economic KPIs: Gini of incomes, velocity, price volatility (floats: derived figures only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def gini(values: NDArray[np.int64]) -> float:
    """Gini coefficient of non-negative integer amounts (0 = equal, →1 = one holder has all)."""
    if values.size == 0:
        return 0.0
    ordered = np.sort(values.astype(np.float64, copy=False))
    total = float(ordered.sum())
    if total <= 0.0:
        return 0.0
    n = ordered.size
    # Not ``np.dot``: BLAS splits a long dot product over its threads (the sum then depends on the
    # machine's core count) and its idle threads spin for ~0.1 s after each call, taking a core
    # from the simulator's worker. numpy's own sum has one order everywhere.
    weighted = np.multiply(np.arange(1, n + 1, dtype=np.float64), ordered)
    return float((2.0 * float(weighted.sum())) / (n * total) - (n + 1.0) / n)


def velocity(spent_base_units: int, supply_base_units: int) -> float:
    """Share of the supply that changed hands for requests and placements in one step."""
    return spent_base_units / supply_base_units if supply_base_units > 0 else 0.0


def price_volatility(prices_micro: Sequence[int]) -> float:
    """Standard deviation of the per-step log returns of the price (0 for fewer than 3 points)."""
    if len(prices_micro) < 3:
        return 0.0
    logs = [math.log(max(p, 1)) for p in prices_micro]
    returns = np.diff(np.asarray(logs, dtype=np.float64))
    return float(np.std(returns))
