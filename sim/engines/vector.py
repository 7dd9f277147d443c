"""The vectorized engine: behaviour drawn as whole arrays, no per-agent Python objects.

Draws touch only the rows that can act (flaky and Sybil slots, a binomial number of leavers and
probed nodes), so a step costs a few passes over the columns, which lets it reach 1e7 nodes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from governance.policy.sorting import sort_keys
from sim.core import STREAM_BEHAVIOUR, SimulationCore, stream
from sim.dynamics import Behaviour, free_slots, join_count
from sim.halves import quick_handover
from sim.kernels import set_drawn_jit
from sim.kpis import StepKpis
from sim.scenario import Scenario
from sim.world import I64, NodeKind, World

#: Probes measure the capacity of every PROBE_EVERY-th slot, rotating each step (the input of the
#: lying detector). Round-robin, not random: both engines probe the same nodes.
PROBE_EVERY = 10


def probe_mask(slots: int, step: int, out: np.ndarray | None = None) -> np.ndarray:
    """Slots probed at `step`: a rotating tenth of the network (written into `out` if given)."""
    if out is None:
        mask = np.zeros(slots, dtype=np.bool_)
    else:
        mask = out
        mask.fill(False)
    mask[step % PROBE_EVERY :: PROBE_EVERY] = True
    return mask


def _sorted_unique(values: I64) -> I64:
    """``np.unique(values)`` by the policy's radix sort (numpy's sort of 40k ints: ~8x slower)."""
    ordered = sort_keys(values)
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: I64 = ordered[keep]
    return out


def _sample_rows(rng: np.random.Generator, mask: np.ndarray, count: int) -> I64:
    """About `count` distinct rows where `mask` is True, by rejection (no full scan)."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    n = mask.size
    picked = np.zeros(0, dtype=np.int64)
    for _ in range(8):
        cand = rng.integers(0, n, size=2 * count + 16)
        picked = _sorted_unique(np.concatenate([picked, cand[mask[cand]]]))
        if picked.size >= count:
            break
    return (
        picked[: min(count, picked.size)]
        if picked.size <= count
        else rng.permutation(picked)[:count]
    )


def regional_down(world: World, scenario: Scenario, step: int) -> np.ndarray | None:
    """Slots down because their whole region is (a regional outage), or None."""
    outage = scenario.regional_outage
    if outage and outage.start_step <= step < outage.start_step + outage.duration_steps:
        down: np.ndarray = world.snapshot.nodes.region == outage.region
        return down
    return None


def joining_slots(core: SimulationCore, leaves: int, present_now: int | None = None) -> I64:
    """The free slots (lowest first) that join this step (``present_now``: the present count)."""
    world = core.world
    if present_now is None:
        present_now = int(np.count_nonzero(world.present))
    present = present_now - leaves
    joins = join_count(present, core.join_target())
    if joins <= 0:
        return np.zeros(0, dtype=np.int64)
    return free_slots(world, joins)


class VectorEngine:
    """Steps a `SimulationCore` with array-wide behaviour draws."""

    def __init__(self, core: SimulationCore) -> None:
        self.core = core
        self.rng = stream(core.seed, STREAM_BEHAVIOUR)
        kind = core.world.kind
        self.flaky = np.flatnonzero(kind == NodeKind.FLAKY)
        self.sybil = np.flatnonzero(kind == NodeKind.SYBIL)
        # The per-slot masks are reused from step to step: a fresh 1e7-row mask costs more in
        # page faults (when drawn, and again when first read) than clearing the last one. Only
        # the rows last set are cleared (None: the whole mask, after a regional outage).
        self._down, self._failing, self._probed = (
            np.zeros(kind.size, dtype=np.bool_) for _ in range(3)
        )
        self._down_set: I64 | None = np.zeros(0, dtype=np.int64)
        self._failing_set = np.zeros(0, dtype=np.int64)
        # Per kind: its slots' uniform draws and the rows the draws hit (reused step buffers).
        self._flaky_draws, self._flaky_hit = np.empty(self.flaky.size), np.empty_like(self.flaky)
        self._sybil_draws, self._sybil_hit = np.empty(self.sybil.size), np.empty_like(self.sybil)

    def behaviour(self) -> Behaviour:
        """Draw this step's churn, outages, failures and probes.

        The masks of the returned `Behaviour` are overwritten by the next call.
        """
        core, rng = self.core, self.rng
        world, adv = core.world, core.scenario.adversaries
        present = world.present
        n_present = int(np.count_nonzero(present))
        leaves = int(rng.binomial(n_present, core.scenario.churn.leave_p))
        leaving = _sample_rows(rng, present, leaves)
        joining = joining_slots(core, int(leaving.size), n_present)
        down = self._down
        if self._down_set is None:
            down.fill(False)
        else:
            down[self._down_set] = False
        draws = rng.random(self.flaky.size, out=self._flaky_draws)
        hit = self._flaky_hit
        self._down_set = hit[: set_drawn_jit(draws, adv.flaky_outage_p, self.flaky, down, hit)]
        regional = regional_down(world, core.scenario, core.step_index)
        if regional is not None:
            down |= regional
            self._down_set = None
        failing = self._failing
        failing[self._failing_set] = False
        draws = rng.random(self.sybil.size, out=self._sybil_draws)
        hit = self._sybil_hit
        self._failing_set = hit[: set_drawn_jit(draws, adv.sybil_fail_p, self.sybil, failing, hit)]
        probed = probe_mask(world.slots, core.step_index, self._probed)
        step = core.step_index
        return Behaviour(
            leaving=leaving, joining=joining, down=down, failing=failing, probed=probed,
            probe_every=PROBE_EVERY, probe_offset=step % PROBE_EVERY,
            next_probe_offset=(step + 1) % PROBE_EVERY,
        )  # fmt: skip

    def step_once(self) -> StepKpis:
        return self.core.step(self.behaviour())

    def run(self, steps: int) -> Iterator[StepKpis]:
        """``steps`` steps, each step's economics overlapping the next step's policy cycle.

        The two threads hand the GIL over quickly while the run lasts (`halves.quick_handover`).
        """
        with quick_handover():
            for _ in range(steps):
                done = self.core.step_overlapped(self.behaviour())
                if done is not None:
                    yield done
            last = self.core.settle()
            if last is not None:
                yield last
