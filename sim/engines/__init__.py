"""Simulation engines: `vector` (no per-agent objects) and `mesa` (agents are views on columns)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from sim.core import SimulationCore
from sim.kpis import StepKpis


class Engine(Protocol):
    """What the runner needs from an engine."""

    core: SimulationCore

    def step_once(self) -> StepKpis:
        """Advance one step and return its KPIs."""
        ...

    def run(self, steps: int) -> Iterator[StepKpis]:
        """Advance ``steps`` steps, yielding each step's KPIs in order (the same as `step_once`)."""
        ...


ENGINES = ("vector", "mesa")
