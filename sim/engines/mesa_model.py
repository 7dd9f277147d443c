"""The mesa engine: a `mesa.Model` whose agents are views onto the model-owned numpy columns.

Node agents come in five types (honest, flaky, liar, Sybil, ring), plus service owners and
requestors. Each agent type draws its own behaviour for all its agents at once (a class-level,
vectorized `draw`), from the model's seeded generator (`Model(rng=...)`), so the step stays
vectorized and the policy call sees the same columns as the vectorized engine. Agents are created
when nodes join and removed when they leave.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import mesa
import numpy as np

from sim.core import STREAM_BEHAVIOUR, SimulationCore, stream
from sim.dynamics import Behaviour
from sim.engines.vector import joining_slots, probe_mask, regional_down
from sim.kernels import append_drawn_jit, present_rows_jit, set_drawn_jit
from sim.kpis import StepKpis
from sim.world import I64, B, NodeKind


@dataclass(slots=True)
class Drawn:
    """A step's behaviour as the agent types draw it, each adding its agents' part.

    ``leaving``'s first ``leaves`` rows are the leavers drawn so far; ``hit`` is scratch rows.
    """

    leaving: I64
    down: B
    failing: B
    hit: I64
    leaves: int = 0


class NodeAgent(mesa.Agent):  # type: ignore[misc]
    """A node operator; its state is row `slot` of the model's columns."""

    kind: ClassVar[NodeKind] = NodeKind.HONEST

    def __init__(self, model: HyperbrickModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot

    @property
    def reputation(self) -> float:
        return float(self.model.core.world.snapshot.nodes.reputation[self.slot])

    @property
    def identity(self) -> int:
        return int(self.model.core.world.snapshot.nodes.node_id[self.slot])

    @property
    def up(self) -> bool:
        return bool(self.model.core.world.up[self.slot])

    @classmethod
    def draw(cls, model: HyperbrickModel, slots: I64, out: Drawn) -> None:
        """Draw this type's behaviour for all its present `slots` (here: who leaves)."""
        leave_p = model.core.scenario.churn.leave_p
        draws = model.rng.random(slots.size)
        out.leaves = int(append_drawn_jit(draws, leave_p, slots, out.leaving, out.leaves))


class HonestNode(NodeAgent):
    """Reports truthfully, serves what it hosts."""

    kind = NodeKind.HONEST


class FlakyNode(NodeAgent):
    """Goes down at random (missed heartbeats)."""

    kind = NodeKind.FLAKY

    @classmethod
    def draw(cls, model: HyperbrickModel, slots: I64, out: Drawn) -> None:
        super().draw(model, slots, out)
        p = model.core.scenario.adversaries.flaky_outage_p
        set_drawn_jit(model.rng.random(slots.size), p, slots, out.down, out.hit)


class LiarNode(NodeAgent):
    """Over-reports its capacity (the world's reported column already carries the lie)."""

    kind = NodeKind.LIAR


class SybilNode(NodeAgent):
    """Fails the work it hosts at random; drops its key and rejoins when its reputation falls."""

    kind = NodeKind.SYBIL

    @classmethod
    def draw(cls, model: HyperbrickModel, slots: I64, out: Drawn) -> None:
        super().draw(model, slots, out)
        p = model.core.scenario.adversaries.sybil_fail_p
        set_drawn_jit(model.rng.random(slots.size), p, slots, out.failing, out.hit)


class RingNode(NodeAgent):
    """Member of a colluding ring that sends wash requests to work its members host."""

    kind = NodeKind.RING


class ServiceOwner(mesa.Agent):  # type: ignore[misc]
    """Owns services (rows of the service table whose owner is `owner`); pays placements."""

    def __init__(self, model: HyperbrickModel, owner: int) -> None:
        super().__init__(model)
        self.owner = owner


class Requestor(mesa.Agent):  # type: ignore[misc]
    """Sends requests that pay service owners and node providers."""

    def __init__(self, model: HyperbrickModel, index: int) -> None:
        super().__init__(model)
        self.index = index


NODE_TYPES: tuple[type[NodeAgent], ...] = (HonestNode, FlakyNode, LiarNode, SybilNode, RingNode)


class HyperbrickModel(mesa.Model):  # type: ignore[misc]
    """Mesa model driving the shared `SimulationCore`."""

    def __init__(self, core: SimulationCore) -> None:
        super().__init__(rng=stream(core.seed, STREAM_BEHAVIOUR))
        self.core = core
        world = core.world
        self.slots_by_kind = [np.flatnonzero(world.kind == t.kind) for t in NODE_TYPES]
        self.node_agents: dict[int, NodeAgent] = {}
        # Scratch rows of `_behaviour` (present slots of a type, leavers, drawn rows).
        self._rows, self._leaving, self._hit = (
            np.empty(world.slots, dtype=np.int64) for _ in range(3)
        )
        self._spawn(np.flatnonzero(world.present))
        for owner in range(world.owners):
            ServiceOwner(self, owner)
        for index in range(world.requestors):
            Requestor(self, index)

    def _spawn(self, slots: np.ndarray) -> None:
        kinds = self.core.world.kind
        for slot in slots.tolist():
            self.node_agents[slot] = NODE_TYPES[kinds[slot]](self, slot)

    def _behaviour(self) -> Behaviour:
        world = self.core.world
        n, present, rows = world.slots, world.present, self._rows
        out = Drawn(
            leaving=self._leaving,
            down=np.zeros(n, dtype=np.bool_),
            failing=np.zeros(n, dtype=np.bool_),
            hit=self._hit,
        )
        for agent_type, slots in zip(NODE_TYPES, self.slots_by_kind, strict=True):
            agent_type.draw(self, rows[: present_rows_jit(slots, present, rows)], out)
        leaving = np.sort(out.leaving[: out.leaves])
        regional = regional_down(world, self.core.scenario, self.core.step_index)
        if regional is not None:
            out.down |= regional
        return Behaviour(
            leaving=leaving,
            joining=joining_slots(self.core, int(leaving.size)),
            down=out.down,
            failing=out.failing,
            probed=probe_mask(n, self.core.step_index),
        )

    def step(self) -> None:
        """One model step: agents draw, the core runs the policy and economics, agents follow."""
        behaviour = self._behaviour()
        self.last_kpis = self.core.step(behaviour)
        for slot in behaviour.leaving.tolist():
            self.node_agents.pop(slot).remove()
        self._spawn(behaviour.joining)

    def step_once(self) -> StepKpis:
        self.step()
        kpis: StepKpis = self.last_kpis
        return kpis

    def run(self, steps: int) -> Iterator[StepKpis]:
        """``steps`` model steps (mesa's step is whole: its economics is settled in it)."""
        for _ in range(steps):
            yield self.step_once()
