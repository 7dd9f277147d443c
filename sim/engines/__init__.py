"""Simulation engines: `vector` (no per-agent objects) and `mesa` (agents are views on columns)."""

from __future__ import annotations

from typing import Protocol

from sim.core import SimulationCore
from sim.kpis import StepKpis


class Engine(Protocol):
    """What the runner needs from an engine."""

    core: SimulationCore

    def step_once(self) -> StepKpis:
        """Advance one step and return its KPIs."""
        ...


ENGINES = ("vector", "mesa")
