"""One simulation step shared by both engines: behaviour, policy cycle, actuator, economics, KPIs.

Random streams are split by purpose from the run seed so that the engines differ only where their
semantics do: the world (stream 0) and request demand (stream 2) and the policy's generator (stream
3) are identical in both engines; behaviour (stream 1) is drawn per engine (one vector, or per agent
type).

A step's economics touches only the token book, so it may run on a worker thread while the next
step's behaviour, observations, policy cycle and actuator run (`SimulationCore.step_overlapped`);
it is settled before that step serves requests. Results are the same either way.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from governance.policy import PolicyParams, Snapshot, run_cycle
from settlement.economics import (
    ControllerState,
    EconomicsParams,
    StepActivity,
    StepFlows,
    TokenBook,
    gini,
    initial_controller,
    new_book,
    price_anchor,
    settle_step,
    velocity,
)
from sim import dynamics, halves, kernels, serving
from sim.actuator import apply_plan
from sim.errors import SimError
from sim.kpis import StepKpis
from sim.params import economics_params, policy_params
from sim.scenario import Scenario, Sizes
from sim.world import F32, I64, World, generate_world
from sim.world_kpis import SlotCounts, read_kpis, slot_counts

STREAM_WORLD, STREAM_BEHAVIOUR, STREAM_DEMAND, STREAM_POLICY = 0, 1, 2, 3


def stream(seed: int, purpose: int) -> np.random.Generator:
    """An independent generator for one purpose of a run."""
    return np.random.default_rng([seed, purpose])


@dataclass(slots=True)
class _Unsettled:
    """A step whose economics is still running: its KPIs measured so far, and the sample."""

    #: Its flows, adversaries' and all providers' income; a future while on the worker thread.
    economics: Future[tuple[StepFlows, int, int]] | tuple[StepFlows, int, int]
    kpis: dict[str, Any]
    sample: I64


@dataclass(slots=True)
class SimulationCore:
    """State of one run and the step that both engines call."""

    scenario: Scenario
    sizes: Sizes
    seed: int
    params: PolicyParams
    econ: EconomicsParams
    world: World
    book: TokenBook
    controller: ControllerState
    demand_rng: np.random.Generator
    policy_rng: np.random.Generator
    step_index: int = 0
    sybil_rejoins: int = 0
    last_served: serving.Served | None = None
    _unsettled: _Unsettled | None = None
    _demand: Future[F32] | None = None  # the next step's demand draws, drawn ahead on the worker
    # The next step's probed slots' true capacity: (every, offset, read on the worker).
    _probes: tuple[int, int, Future[F32]] | None = field(default=None, repr=False)
    _worker: ThreadPoolExecutor | None = field(default=None, repr=False)

    @property
    def max_nodes(self) -> int:
        return round(self.sizes.nodes * self.scenario.churn.growth_factor)

    @property
    def now_s(self) -> float:
        return self.step_index * self.world.step_s

    def join_target(self) -> int:
        return dynamics.target_present(
            self.scenario, self.sizes.nodes, self.sizes.steps, self.step_index
        )

    def step(self, behaviour: dynamics.Behaviour) -> StepKpis:
        """Advance one step with the engine's behaviour draws; return the step's KPIs."""
        if self._unsettled is not None:
            raise SimError("a step's economics is still running: settle() it first")
        self._advance(behaviour, overlap=False)
        kpis = self.settle()
        assert kpis is not None  # noqa: S101 - _advance always leaves one step to settle
        return kpis

    def step_overlapped(self, behaviour: dynamics.Behaviour) -> StepKpis | None:
        """Advance one step, leaving its economics running on a worker thread.

        Returns the previous step's KPIs (None at the first call): its economics is settled
        before this step serves requests. Call `settle` after the last step for its KPIs.
        """
        return self._advance(behaviour, overlap=True)

    def settle(self) -> StepKpis | None:
        """Wait for the economics still running, if any; return that step's KPIs."""
        pending, self._unsettled = self._unsettled, None
        if pending is None:
            return None
        economics = pending.economics
        if isinstance(economics, Future):
            economics = economics.result()
        flows, adv_income, income = economics
        self.controller = flows.controller
        return StepKpis(
            **pending.kpis,
            adversary_revenue_share=adv_income / income if income > 0 else 0.0,
            supply_base_units=flows.supply,
            price_micro=flows.controller.price_micro,
            emission_ppm=flows.controller.emission_ppm,
            velocity=velocity(flows.spent, flows.supply),
            gini=self._gini(pending.sample),
        )

    def _advance(self, behaviour: dynamics.Behaviour, *, overlap: bool) -> StepKpis | None:
        world, step, now_s = self.world, self.step_index, self.now_s
        initial_rep = self.params.reputation.initial
        dynamics.apply_behaviour(world, behaviour, now_s, initial_rep)
        dynamics.activate_services(world, self.scenario, self.max_nodes)
        # Which slots are present and up is settled for the step: the worker counts them once it
        # is idle, during the policy cycle, off this thread.
        counted = self._count_slots()
        # Job outcomes observed are those of the previous step's serving (what nodes did since
        # the last cycle); then the policy acts and this step's requests hit the new assignment.
        obs = dynamics.observations(
            world, behaviour, self.last_served, world.step_s, self._probe_table_for(behaviour)
        )
        self._read_probes_ahead(behaviour)
        snap = world.snapshot  # `replace(snap, observations=obs)`, without its field walk
        before = Snapshot(snap.nodes, snap.services, snap.replicas, snap.history, obs)
        # The world's columns are donated (no 1e7-row copies); the actuator reverts a refused
        # eviction from the cycle's journal and recomputes node usage.
        result = run_cycle(before, self.params, now_s, self.policy_rng, donate=True)
        act = apply_plan(world, before, result, self.params, step)
        # Serving reuses the buffers the previous step's economics reads: settle it first.
        previous = self.settle()
        noise = self._demand_noise()
        # The worker is idle until this step's economics: it serves half of each pass.
        served = serving.serve(world, self.scenario, step, behaviour, noise, self._idle_pool())
        self.last_served = served
        dynamics.finish_tasks(world, self._idle_pool())
        rejoin = dynamics.sybils_to_cycle(world, self.scenario.adversaries.sybil_rejoin_below)
        dynamics.drop_replicas(world, rejoin)
        dynamics.new_identities(world, rejoin, now_s, initial_rep)
        self.book.reset(rejoin)
        self.sybil_rejoins += int(rejoin.size)
        slots = counted.result() if isinstance(counted, Future) else counted
        activity = self._activity(served, act.placed, slots.present)
        # Read before the economics starts: until then the worker is idle and takes half the rows.
        kpis = read_kpis(world, step, served, act, int(rejoin.size), slots, self._idle_pool())
        economics = self._start(activity, served, overlap)
        if overlap:  # the demand stream serves nothing else: draw the next step's on the worker
            self._demand = self._pool().submit(
                serving.demand_noise, self.demand_rng, noise.size, noise
            )
        self._unsettled = _Unsettled(economics=economics, kpis=kpis, sample=slots.sample)
        self.step_index += 1
        return previous

    def _start(
        self, activity: StepActivity, served: serving.Served, overlap: bool
    ) -> Future[tuple[StepFlows, int, int]] | tuple[StepFlows, int, int]:
        """Run the step's economics now, or on the worker thread when overlapping."""
        if not overlap:
            return self._economics(activity, served)
        return self._pool().submit(self._economics, activity, served)

    def _pool(self) -> ThreadPoolExecutor:
        """The worker thread that overlapped work runs on (in submission order)."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="economics")
        return self._worker

    def _idle_pool(self) -> ThreadPoolExecutor | None:
        """The worker, for halves of a pass while it has nothing else to do (big networks only)."""
        return self._pool() if self.world.slots >= halves.MIN_ROWS else None

    def _probe_table_for(self, behaviour: dynamics.Behaviour) -> F32 | None:
        """The true capacity of this step's probe pattern if it was read ahead, else None."""
        ahead, self._probes = self._probes, None
        if ahead is None or behaviour.probe_every <= 0:
            return None
        every, offset, table = ahead
        if (every, offset) != (behaviour.probe_every, behaviour.probe_offset):
            return None
        return table.result()

    def _read_probes_ahead(self, behaviour: dynamics.Behaviour) -> None:
        """On big networks, the worker reads the next step's probed slots' true capacity.

        Queued behind its work, it runs during the policy cycle: the next step's observations
        then read a contiguous table instead of a cache line per probed slot.
        """
        pool = self._idle_pool()
        every = behaviour.probe_every
        if pool is None or every <= 0:
            return
        offset = behaviour.next_probe_offset
        table = pool.submit(dynamics.probe_capacity, self.world, every, offset)
        self._probes = (every, offset, table)

    def _demand_noise(self) -> F32:
        """This step's demand draws: drawn ahead by the last overlapped step, or now."""
        ahead, self._demand = self._demand, None
        if ahead is not None:
            return ahead.result()
        m = self.world.service_active.size
        out = self.world.buffer("demand_noise", m, np.float32)
        return serving.demand_noise(self.demand_rng, m, out)

    def _capacity_units(self) -> NDArray[np.uint8] | I64:
        """Cores each slot contributes: up and above the reputation floor.

        In a uint8 buffer when every slot's core count fits a byte (the economics reads a byte
        per node row instead of eight), else in int64.
        """
        nodes = self.world.snapshot.nodes
        floor = self.params.eviction.reputation_floor if self.params.reputation.enabled else -1.0
        n = self.world.slots
        cores, up, reputation = self.world.reported_cores, self.world.up, nodes.reputation
        # float32 comparison: numpy compares a float32 column with a Python float in float32.
        at = np.float32(floor)
        # The worker is idle until this step's economics starts: it takes half the rows.
        if cores.dtype == np.uint8:  # every count fits a byte (the world's choice): so do units
            small: NDArray[np.uint8] = self.world.buffer("capacity_units_u8", n, np.uint8)
            byte_cores = cast("NDArray[np.uint8]", cores)

            def rows_small(lo: int, hi: int) -> None:
                kernels.capacity_units_u8_jit(byte_cores, up, reputation, at, small, lo, hi)

            halves.over_rows(self._idle_pool(), n, rows_small)
            return small
        units: I64 = self.world.buffer("capacity_units", n, np.int64)

        def rows(lo: int, hi: int) -> None:
            kernels.capacity_units_jit(cores, up, reputation, at, units, lo, hi)

        halves.over_rows(self._idle_pool(), n, rows)
        return units

    def _count_slots(self) -> Future[SlotCounts] | SlotCounts:
        """The step's `SlotCounts`: on the worker (queued behind its work) on big networks."""
        world = self.world
        pool = self._idle_pool()
        if pool is None:
            return slot_counts(world, world.present, world.up)
        # The arrays themselves: the next step replaces ``world.up``.
        return pool.submit(slot_counts, world, world.present, world.up)

    def _activity(self, served: serving.Served, placed: I64, present: int) -> StepActivity:
        """The step's token activity, read off the world now (it changes in the next step)."""
        world = self.world
        shock = self.scenario.economic_shock
        redeem = None
        if shock and shock.start_step <= self.step_index < shock.start_step + shock.duration_steps:
            redeem = shock.redeem_ppm
        payer = world.service_owner_account[world.snapshot.replicas.service[placed]]
        return StepActivity(
            now_step=self.step_index,
            active_nodes=present,
            capacity_units=self._capacity_units(),
            request_payer=served.batch_payer,
            request_provider=served.batch_provider,
            request_owner=served.batch_owner,
            request_count=served.batch_count,
            placement_payer=payer.astype(np.int64, copy=False),
            redeem_ppm=redeem,
        )

    def _economics(self, act: StepActivity, served: serving.Served) -> tuple[StepFlows, int, int]:
        """Settle the book; return the flows, the adversaries' income and all providers' income.

        Touches only the book (the controller is adopted by `settle`), so it may run on the
        worker thread.
        """
        flows = settle_step(self.book, self.controller, self.econ, act)
        # Revenue of providers this step: contribution rewards plus their share of requests.
        rate = self.econ.earn_base_units_per_capacity_step * self.controller.emission_ppm // 10**6
        adversarial = int(act.capacity_units[self.world.adversarial_slots].sum())
        adv_income = adversarial * rate + self._provider_share(served)
        return flows, adv_income, flows.earned + flows.provider_rewards

    def _provider_share(self, served: serving.Served) -> int:
        """The provider shares of the adversaries' request batches, summed."""
        econ = self.econ
        # int32 counts too: the loop widens each to int64 before multiplying
        count = cast("I64", served.batch_count)
        return int(
            kernels.provider_share_jit(
                count, served.adversary_batches, econ.request_price_base_units,
                econ.protocol_fee_bps, econ.owner_share_bps,
            )
        )  # fmt: skip

    def _gini(self, sample: I64) -> float:
        """Gini of cumulative provider income (exact up to 64k nodes, a sample above)."""
        return gini(self.book.income[sample])


def new_core(
    scenario: Scenario, sizes: Sizes, seed: int, policy: str | None = None, source: str = "scenario"
) -> SimulationCore:
    """Build the initial state of a run (identical for both engines)."""
    params = policy_params(scenario, policy, source)
    econ = economics_params(scenario)
    world = generate_world(stream(seed, STREAM_WORLD), scenario, sizes)
    book, controller = _genesis(world, econ, sizes.nodes)
    return SimulationCore(
        scenario=scenario,
        sizes=sizes,
        seed=seed,
        params=params,
        econ=econ,
        world=world,
        book=book,
        controller=controller,
        demand_rng=stream(seed, STREAM_DEMAND),
        policy_rng=stream(seed, STREAM_POLICY),
    )


def _genesis(world: World, econ: EconomicsParams, nodes: int) -> tuple[TokenBook, ControllerState]:
    """Start at equilibrium: each present provider holds the target supply, price at its anchor."""
    book = new_book(world.accounts)
    present = np.flatnonzero(world.present)
    book.balance[present] = econ.target_supply_per_node_base_units
    book.expires_at_step[present] = econ.token_lifetime_steps
    book.supply_base_units = int(present.size) * econ.target_supply_per_node_base_units
    start = initial_controller(econ)
    return book, replace(start, price_micro=price_anchor(econ, nodes))
