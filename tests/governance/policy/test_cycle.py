"""run_cycle: determinism over several cycles, explain ("why not node X"), the kube baseline."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from governance.policy import (
    FilterReason,
    PolicyParams,
    Snapshot,
    explain_placement,
    kubernetes_baseline,
    run_cycle,
)
from governance.policy.build import make_observations
from governance.policy.synthetic import DAY_S, synthetic_network
from governance.policy.types import SnapshotError

NOW = 60 * DAY_S


def _run(seed: int, params: PolicyParams, cycles: int = 3) -> tuple[str, Snapshot]:
    rng = np.random.default_rng(seed)
    snap = synthetic_network(3000, 1000, np.random.default_rng(seed), now_s=NOW)
    h = hashlib.sha256()
    now = NOW
    for c in range(cycles):
        now += 60.0
        alive = rng.random(snap.nodes.size) > 0.05 * c
        hb = np.where(alive, now, snap.nodes.last_heartbeat_s)
        obs = dataclasses.replace(
            make_observations(snap.nodes.size, 60.0),
            uptime_fraction=alive.astype(np.float32),
        )
        snap = dataclasses.replace(
            snap,
            nodes=dataclasses.replace(snap.nodes, last_heartbeat_s=hb),
            observations=obs,
        )
        result = run_cycle(snap, params, now, rng)
        snap = result.snapshot
        p = result.plan
        for arr in (
            p.reputation.reputation,
            p.evictions.replica,
            p.evictions.outcome,
            p.placements.replica,
            p.placements.node,
            p.placements.score,
            snap.nodes.used,
        ):
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest(), snap


@pytest.mark.parametrize("mode", ["sampled", "exact"])
def test_same_seed_same_plans(mode: str) -> None:
    params = PolicyParams(placement=dataclasses.replace(PolicyParams().placement, mode=mode))  # type: ignore[arg-type]
    assert _run(5, params)[0] == _run(5, params)[0]
    if mode == "sampled":
        assert _run(5, params)[0] != _run(6, params)[0]


def test_kubernetes_baseline_cycle_runs() -> None:
    digest, snap = _run(8, kubernetes_baseline())
    assert digest
    assert np.all(snap.nodes.used <= snap.nodes.capacity)


def test_explain_names_failing_filter_and_gap() -> None:
    snap = synthetic_network(200, 20, np.random.default_rng(1), now_s=NOW, newcomer_share=0.0)
    params = PolicyParams()
    full = 5
    used = snap.nodes.used.copy()
    used[full] = snap.nodes.capacity[full]
    snap = dataclasses.replace(snap, nodes=dataclasses.replace(snap.nodes, used=used))
    why = explain_placement(snap, params, NOW, replica=0, node=full)
    assert not why.feasible
    assert [v.reason for v in why.failing] == [FilterReason.INSUFFICIENT_CAPACITY]
    ok_node = next(n for n in range(200) if n not in (full, why.best_node))
    why2 = explain_placement(snap, params, NOW, replica=0, node=ok_node)
    if why2.feasible:
        assert why2.score_gap >= 0
        assert why2.best_score >= why2.score
        assert set(why2.factors) == set(params.placement.scorers)


def _deep_copy(snap: Snapshot) -> Snapshot:
    def copy_table(table: object) -> object:
        return dataclasses.replace(
            table,  # type: ignore[type-var]
            **{f.name: getattr(table, f.name).copy() for f in dataclasses.fields(table)},  # type: ignore[arg-type]
        )

    return dataclasses.replace(
        snap,
        nodes=copy_table(snap.nodes),  # type: ignore[arg-type]
        replicas=copy_table(snap.replicas),  # type: ignore[arg-type]
        history=copy_table(snap.history),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("mode", ["sampled", "exact"])
def test_donated_buffers_give_the_same_plans(mode: str) -> None:
    params = PolicyParams(
        placement=dataclasses.replace(PolicyParams().placement, mode=mode),  # type: ignore[arg-type]
        eviction=dataclasses.replace(PolicyParams().eviction, notice_s=30.0),
    )
    base = synthetic_network(1500, 500, np.random.default_rng(4), now_s=NOW)
    runs = []
    for donate in (False, True):
        snap = _deep_copy(base)
        rng = np.random.default_rng(9)
        out = []
        now = NOW
        for c in range(4):
            now += 60.0
            hb = np.where(np.arange(snap.nodes.size) % 7 == c, now - 1e4, now)
            rep = snap.nodes.reputation.copy()
            rep[np.arange(snap.nodes.size) % 11 == c] = 0.0  # some nodes fall below the floor
            nodes = dataclasses.replace(snap.nodes, last_heartbeat_s=hb, reputation=rep)
            snap = dataclasses.replace(snap, nodes=nodes)
            result = run_cycle(snap, params, now, rng, donate=donate)
            p = result.plan
            out.append(
                (
                    p.evictions.replica.tobytes(),
                    p.evictions.outcome.tobytes(),
                    p.placements.node.tobytes(),
                    result.snapshot.nodes.used.tobytes(),
                    result.snapshot.history.evictions_in_window.tobytes(),
                    result.snapshot.replicas.evict_at_s.tobytes(),
                )
            )
            snap = result.snapshot
        runs.append(out)
    assert runs[0] == runs[1]


def _dead_node_cycle(mode: str, seed: int, dead_every: int) -> tuple[PolicyParams, Snapshot, float]:
    """A placed network one minute on, every ``dead_every``-th node dead: the next cycle evicts
    from the dead nodes and re-places in the same call (no notice window)."""
    params = PolicyParams(
        placement=dataclasses.replace(PolicyParams().placement, mode=mode),  # type: ignore[arg-type]
        eviction=dataclasses.replace(PolicyParams().eviction, notice_s=0.0),
    )
    snap = synthetic_network(800, 300, np.random.default_rng(seed), now_s=NOW)
    snap = run_cycle(snap, params, NOW, np.random.default_rng(1)).snapshot
    later = NOW + 60.0
    dead = np.arange(snap.nodes.size) % dead_every == seed % dead_every
    nodes = dataclasses.replace(snap.nodes, last_heartbeat_s=np.where(dead, later - 1e4, later))
    return params, dataclasses.replace(snap, nodes=nodes), later


@pytest.mark.parametrize("mode", ["sampled", "exact"])
def test_a_cycle_without_donation_leaves_its_input_untouched(mode: str) -> None:
    params, snap, later = _dead_node_cycle(mode, seed=5, dead_every=5)
    kept = _deep_copy(snap)
    result = run_cycle(snap, params, later, np.random.default_rng(2))
    assert len(result.plan.evictions) > 0
    assert (result.plan.placements.node >= 0).any()
    for name in ("nodes", "replicas", "history"):
        table, copy = getattr(snap, name), getattr(kept, name)
        for f in dataclasses.fields(table):
            assert getattr(table, f.name).tobytes() == getattr(copy, f.name).tobytes(), f.name


@pytest.mark.parametrize("mode", ["sampled", "exact"])
def test_a_donated_cycle_journals_what_its_evictions_overwrote(mode: str) -> None:
    params, snap, later = _dead_node_cycle(mode, seed=7, dead_every=4)
    kept = _deep_copy(snap)
    plain = run_cycle(_deep_copy(snap), params, later, np.random.default_rng(2))
    donated = run_cycle(snap, params, later, np.random.default_rng(2), donate=True)
    assert plain.journal is None
    assert donated.journal is not None
    assert plain.plan.placements.node.tobytes() == donated.plan.placements.node.tobytes()
    for f in dataclasses.fields(snap.replicas):
        want = getattr(plain.snapshot.replicas, f.name).tobytes()
        assert getattr(donated.snapshot.replicas, f.name).tobytes() == want, f.name
    assert snap.replicas.node is donated.snapshot.replicas.node  # written in place, not copied
    for name in ("used", "replicas_held", "reputation", "tier"):
        want = getattr(plain.snapshot.nodes, name).tobytes()
        assert getattr(donated.snapshot.nodes, name).tobytes() == want, name
        assert getattr(donated.snapshot.nodes, name) is getattr(snap.nodes, name), name
    rows = donated.plan.evictions.replica.astype(np.int64)
    assert rows.size > 0
    assert donated.journal.rows.tolist() == np.unique(rows).tolist()
    # Restoring every journaled row gives the input's values back.
    donated.journal.restore(donated.snapshot.replicas, donated.journal.rows)
    for name in ("node", "evict_at_s", "evict_reason", "last_evicted_node", "evictions"):
        got = getattr(donated.snapshot.replicas, name)[rows]
        assert got.tobytes() == getattr(kept.replicas, name)[rows].tobytes(), name
    with pytest.raises(SnapshotError):
        donated.journal.restore(donated.snapshot.replicas, np.array([-5], dtype=np.int64))


def test_a_donated_dry_run_returns_its_input_as_it_was() -> None:
    """Dry run: the returned snapshot is the input one, scores and tiers included."""
    params, snap, later = _dead_node_cycle("sampled", seed=3, dead_every=4)
    params = dataclasses.replace(
        params, eviction=dataclasses.replace(params.eviction, dry_run=True)
    )
    snap = dataclasses.replace(snap, observations=make_observations(snap.nodes.size, 600.0))
    kept = _deep_copy(snap)
    result = run_cycle(snap, params, later, np.random.default_rng(2), donate=True)
    assert result.plan.reputation.reputation.tobytes() != kept.nodes.reputation.tobytes()
    assert result.snapshot is snap
    assert len(result.plan.evictions) > 0
    for f in dataclasses.fields(snap.nodes):
        want = getattr(kept.nodes, f.name).tobytes()
        assert getattr(snap.nodes, f.name).tobytes() == want, f.name
