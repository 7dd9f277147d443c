"""World dynamics: resource accounting, identities, growth, request routing and token flows."""

from __future__ import annotations

import dataclasses

import numpy as np

from governance.policy import NO_NODE, Tier
from governance.policy.build import recompute_usage
from sim import dynamics
from sim.core import STREAM_WORLD, new_core, stream
from sim.engines.vector import VectorEngine
from sim.scenario import Scenario
from sim.world import NodeKind, generate_world


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
    served = dynamics.serve(world, tiny_scenario, 0, behaviour, np.random.default_rng(0))
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
