"""World dynamics: resource accounting, identities, growth, request routing and token flows."""

from __future__ import annotations

import dataclasses
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import NO_NODE, Tier
from governance.policy.build import recompute_usage
from sim import dynamics, halves, serving
from sim.core import STREAM_WORLD, new_core, stream
from sim.engines import vector
from sim.engines.vector import VectorEngine
from sim.scenario import Scenario
from sim.world import NodeKind, generate_world
from tests.sim.conftest import tiny


def test_dropping_replicas_returns_their_resources(tiny_scenario: Scenario) -> None:
    world = generate_world(stream(3, STREAM_WORLD), tiny_scenario, tiny_scenario.sizes)
    snap = world.snapshot
    rows = np.arange(6)
    snap.replicas.node[rows] = 5
    demand = snap.services.demand[snap.replicas.service[rows]].sum(axis=0)
    snap.nodes.used[5] = demand
    snap.nodes.replicas_held[5] = 6
    assert dynamics.drop_replicas(world, np.array([5])) == 6
    assert (snap.replicas.node[rows] == NO_NODE).all()
    assert np.allclose(snap.nodes.used[5], 0.0)
    assert snap.nodes.replicas_held[5] == 0


def test_new_identity_is_a_newcomer_with_a_new_key(tiny_scenario: Scenario) -> None:
    world = generate_world(stream(3, STREAM_WORLD), tiny_scenario, tiny_scenario.sizes)
    nodes = world.snapshot.nodes
    old = int(nodes.node_id[4])
    dynamics.new_identities(world, np.array([4]), 1234.0, 0.0)
    assert nodes.node_id[4] != old
    assert nodes.node_id[4] >= world.slots - 1
    assert nodes.reputation[4] == 0.0
    assert nodes.tier[4] == Tier.NEWCOMER
    assert nodes.joined_at_s[4] == 1234.0


def test_growth_target_reaches_tenfold() -> None:
    from sim.scenario import load_scenario

    growth = load_scenario("growth")
    assert dynamics.target_present(growth, 100, 50, 49) == 1000
    assert dynamics.target_present(growth, 100, 50, 0) < 200


def test_requests_are_conserved_and_only_served_ones_pay(tiny_scenario: Scenario) -> None:
    core = new_core(tiny_scenario, tiny_scenario.sizes, 9)
    world = core.world
    dynamics.activate_services(world, tiny_scenario, core.max_nodes)
    snap = world.snapshot
    healthy = np.flatnonzero(snap.nodes.healthy)
    snap.replicas.node[:] = healthy[np.arange(snap.replicas.size) % healthy.size]
    # keep the world consistent: node usage and replica counts follow the assignment
    world.snapshot = dataclasses.replace(
        snap, nodes=recompute_usage(snap.nodes, snap.services, snap.replicas)
    )
    snap = world.snapshot
    n = world.slots
    failing = np.zeros(n, bool)
    failing[healthy[:10]] = True
    behaviour = dynamics.Behaviour(
        leaving=np.zeros(0, np.int64),
        joining=np.zeros(0, np.int64),
        down=np.zeros(n, bool),
        failing=failing,
        probed=np.zeros(n, bool),
    )
    noise = serving.demand_noise(np.random.default_rng(0), world.service_active.size)
    served = serving.serve(world, tiny_scenario, 0, behaviour, noise)
    ring = world.kind[served.batch_provider] == NodeKind.RING
    paid_real = int(served.batch_count[~ring | (served.batch_payer != served.batch_provider)].sum())
    assert served.requests > 0
    assert served.requests - served.requests_failed == paid_real
    # a batch per replica row: the failing nodes' batches carry no request
    assert served.batch_count[np.isin(served.batch_provider, healthy[:10])].sum() == 0
    assert served.jobs_failed[healthy[:10]].sum() > 0
    held = snap.nodes.replicas_held
    assert (served.jobs_failed[healthy[:10]] == held[healthy[:10]]).all()
    plain = world.kind != NodeKind.RING  # ring hosts add wash trades to their successes
    assert (served.jobs_succeeded + served.jobs_failed == held)[plain].all()


def test_node_usage_follows_the_assignment_every_step(tiny_scenario: Scenario) -> None:
    """`serve` counts jobs per node from ``replicas_held``: it must match the replica table."""
    core = new_core(tiny_scenario, tiny_scenario.sizes, 5)
    engine = VectorEngine(core)
    for _ in range(12):
        engine.step_once()
        snap = core.world.snapshot
        placed = snap.replicas.node[snap.replicas.node >= 0]
        counts = np.bincount(placed, minlength=core.world.slots)
        assert (snap.nodes.replicas_held == counts).all()


def _reference_serve(world, scenario, step, behaviour, rng):  # type: ignore[no-untyped-def]
    """The serving rule replica by replica, in plain Python (what `serve` must equal)."""
    snap = world.snapshot
    reps, services, n = snap.replicas, snap.services, world.slots
    overloaded = snap.nodes.used[:, 0] > world.true_capacity[:, 0] * 1.0001
    node_ok = world.up & ~behaviour.failing & ~overloaded
    mult = serving._demand_multiplier(scenario, step)
    lam = np.float32(scenario.demand.requests_per_service_step * mult)
    req = np.where(world.service_active, serving.draw_requests(rng, lam * world.service_weight), 0)
    jobs_ok, jobs_bad, node_sla = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    violations = reps.sla_violations.copy()
    batches: Counter[tuple[int, int, int, int]] = Counter()
    out = {"failed": 0, "sla": 0, "available": 0, "desired": 0, "running": 0, "adversary": 0}
    for s in range(services.size):
        rows = [r for r in np.flatnonzero(reps.service == s) if reps.node[r] >= 0]
        ok = [bool(node_ok[reps.node[r]]) for r in rows]
        desired = int(services.replicas[s]) if world.service_active[s] else 0
        quotient, remainder = divmod(int(req[s]), max(len(rows), 1))
        served = [(quotient + (remainder if i == 0 else 0)) * ok[i] for i in range(len(rows))]
        failed = int(req[s]) - sum(served)
        broke = bool(world.service_active[s]) and (
            failed > serving.SLA_FAILED_SHARE * req[s] or sum(ok) * 2 < desired
        )
        out["failed"] += failed
        out["sla"] += broke
        out["available"] += min(sum(ok), desired)
        out["desired"] += desired
        payer = world.requestor_base + s % world.requestors
        for r, good, count in zip(rows, ok, served, strict=True):
            node = int(reps.node[r])
            out["running"] += 1
            out["adversary"] += bool(world.adversarial[node])
            if good:
                jobs_ok[node] += 1
                violations[r] = max(violations[r] - 1, 0)
                if count > 0:
                    batches[(node, int(world.service_owner_account[s]), payer, count)] += 1
                if world.kind[node] == NodeKind.RING:
                    jobs_ok[node] += 1
                    wash = scenario.adversaries.ring_wash_requests
                    batches[(node, node, node, wash)] += 1
            else:
                jobs_bad[node] += 1
                violations[r] += 1
                node_sla[node] += broke
    return int(req.sum()), out, jobs_ok, jobs_bad, node_sla, violations, batches


@pytest.mark.parametrize("split", [False, True], ids=["whole", "halves"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_serve_equals_the_replica_by_replica_rule(
    seed: int, split: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` equals the plain rule, also when each pass runs as two halves on two threads."""
    pool = ThreadPoolExecutor(max_workers=1) if split else None
    monkeypatch.setattr(halves, "MIN_ROWS", 1)  # split the tiny world's passes too
    scenario = tiny(
        adversaries={"flaky": 0.2, "sybil": 0.1, "liar": 0.1, "ring": 0.1, "sybil_fail_p": 0.5}
    )
    core = new_core(scenario, scenario.sizes, seed)
    engine = VectorEngine(core)
    for step in range(6):
        engine.step_once()
        world = core.world
        reps = world.snapshot.replicas
        # some pending replicas, including first rows of their service
        reps.node[np.flatnonzero(reps.node >= 0)[step::7]] = NO_NODE
        world.snapshot = dataclasses.replace(
            world.snapshot,
            nodes=recompute_usage(world.snapshot.nodes, world.snapshot.services, reps),
        )
        behaviour = engine.behaviour()
        want = _reference_serve(world, scenario, step, behaviour, np.random.default_rng(step))
        noise = serving.demand_noise(np.random.default_rng(step), world.service_active.size)
        got = serving.serve(world, scenario, step, behaviour, noise, pool)
        requests, out, jobs_ok, jobs_bad, node_sla, violations, batches = want
        assert (got.requests, got.requests_failed) == (requests, out["failed"])
        assert got.sla_violations == out["sla"]
        assert got.availability == out["available"] / max(out["desired"], 1)
        assert (got.running, got.adversary_running) == (out["running"], out["adversary"])
        assert got.jobs_succeeded.tolist() == jobs_ok.tolist()
        assert got.jobs_failed.tolist() == jobs_bad.tolist()
        assert got.node_sla.tolist() == node_sla.tolist()
        assert reps.sla_violations.tolist() == violations.tolist()
        paid = got.batch_count > 0
        columns = (got.batch_provider, got.batch_owner, got.batch_payer, got.batch_count)
        assert Counter(zip(*(c[paid].tolist() for c in columns), strict=True)) == batches
        assert out["failed"] > 0  # the case is not trivial: failures ...
        assert any(k[0] == k[1] for k in batches)  # ... and wash trades happen


def _reference_sample_rows(rng: np.random.Generator, mask: np.ndarray, count: int) -> np.ndarray:
    """`vector._sample_rows` as first written (numpy's `unique`)."""
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    picked = np.zeros(0, dtype=np.int64)
    for _ in range(8):
        cand = rng.integers(0, mask.size, size=2 * count + 16)
        picked = np.unique(np.concatenate([picked, cand[mask[cand]]]))
        if picked.size >= count:
            break
    return picked if picked.size <= count else rng.permutation(picked)[:count]


def _reference_behaviour(engine: VectorEngine) -> dynamics.Behaviour:
    """`VectorEngine.behaviour` as first written: full-width masks drawn afresh each step."""
    core, rng = engine.core, engine.rng
    world, adv = core.world, core.scenario.adversaries
    n_present = int(np.count_nonzero(world.present))
    leaves = int(rng.binomial(n_present, core.scenario.churn.leave_p))
    leaving = _reference_sample_rows(rng, world.present, leaves)
    joining = vector.joining_slots(core, int(leaving.size))
    down = np.zeros(world.slots, dtype=np.bool_)
    down[engine.flaky[rng.random(engine.flaky.size) < adv.flaky_outage_p]] = True
    regional = vector.regional_down(world, core.scenario, core.step_index)
    if regional is not None:
        down |= regional
    failing = np.zeros(world.slots, dtype=np.bool_)
    failing[engine.sybil[rng.random(engine.sybil.size) < adv.sybil_fail_p]] = True
    probed = vector.probe_mask(world.slots, core.step_index)
    every, step = vector.PROBE_EVERY, core.step_index
    return dynamics.Behaviour(
        leaving=leaving, joining=joining, down=down, failing=failing, probed=probed,
        probe_every=every, probe_offset=step % every, next_probe_offset=(step + 1) % every,
    )  # fmt: skip


def test_vector_behaviour_equals_its_reference_through_an_outage() -> None:
    """Reused masks (only last step's rows cleared) draw what fresh masks drew, step by step."""
    scenario = tiny(
        adversaries={"flaky": 0.2, "sybil": 0.2, "liar": 0.05, "ring": 0.05},
        churn={"leave_p": 0.05},
        regional_outage={"start_step": 3, "duration_steps": 3, "region": 2},
    )
    fast, slow = (VectorEngine(new_core(scenario, scenario.sizes, 11)) for _ in range(2))
    for _ in range(10):
        got, want = fast.behaviour(), _reference_behaviour(slow)
        for field in dataclasses.fields(dynamics.Behaviour):
            a, b = getattr(got, field.name), getattr(want, field.name)
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), field.name
        fast.core.step(got)
        slow.core.step(want)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), high=st.integers(1, 400))
def test_sorted_unique_equals_numpy(seed: int, n: int, high: int) -> None:
    values = np.random.default_rng(seed).integers(0, high, n)
    assert vector._sorted_unique(values).tolist() == np.unique(values).tolist()


def test_narrow_account_columns_follow_the_world(tiny_scenario: Scenario) -> None:
    """The int32 copy of a static account column is made again when the world replaces it."""
    world = generate_world(stream(3, STREAM_WORLD), tiny_scenario, tiny_scenario.sizes)
    column = world.replica_owner_account
    first = serving._narrow_accounts(world, "batch_owner", column)
    assert first.dtype == np.int32
    assert first.tolist() == column.tolist()
    assert serving._narrow_accounts(world, "batch_owner", column) is first  # copied once
    replaced = column[::-1].copy()
    again = serving._narrow_accounts(world, "batch_owner", replaced)
    assert again.dtype == np.int32
    assert again.tolist() == replaced.tolist()
    wide = np.array([0, 2**31], dtype=np.int64)  # beyond int32: the column itself
    assert serving._narrow_accounts(world, "batch_owner", wide) is wide
