"""Reputation: bounded, slow gain / fast loss, lying cut, newcomers start at zero, tiers."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import PolicyParams, Tier, kubernetes_baseline, make_nodes, update_reputation
from governance.policy.build import make_observations

DAY = 86_400.0


def _nodes(n: int, score: float, joined_days_ago: float, now: float) -> object:
    return make_nodes(
        np.full((n, 3), 1000.0), reputation=score, joined_at_s=now - joined_days_ago * DAY
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    interval=st.floats(1.0, 30 * DAY),
)
def test_scores_stay_in_unit_interval(seed: int, interval: float) -> None:
    rng = np.random.default_rng(seed)
    n = 64
    now = 100 * DAY
    nodes = make_nodes(
        np.full((n, 3), 1000.0),
        reputation=rng.random(n),
        joined_at_s=now - rng.uniform(-DAY, 90 * DAY, n),
    )
    obs = dataclasses.replace(
        make_observations(n, interval),
        uptime_fraction=rng.random(n).astype(np.float32),
        jobs_succeeded=rng.integers(0, 100, n).astype(np.int32),
        jobs_failed=rng.integers(0, 100, n).astype(np.int32),
        sla_violations=rng.integers(0, 300, n).astype(np.int32),
        reported_capacity=rng.uniform(0, 2000, (n, 3)).astype(np.float32),
        observed_capacity=rng.uniform(0, 2000, (n, 3)).astype(np.float32),
    )
    up = update_reputation(nodes, obs, PolicyParams(), now)
    assert np.all((up.reputation >= 0) & (up.reputation <= 1))
    assert up.reputation.dtype == np.float32


def test_loss_is_faster_than_gain() -> None:
    now = 100 * DAY
    obs_good = make_observations(1, 3600.0)
    obs_bad = dataclasses.replace(obs_good, uptime_fraction=np.zeros(1, dtype=np.float32))
    mid = _nodes(1, 0.5, 60, now)
    gain = update_reputation(mid, obs_good, PolicyParams(), now).reputation[0] - 0.5
    loss = 0.5 - update_reputation(mid, obs_bad, PolicyParams(), now).reputation[0]
    assert gain > 0
    assert loss > 2 * gain


def test_lying_is_cut_at_once() -> None:
    now = 100 * DAY
    nodes = _nodes(2, 0.9, 60, now)
    obs = make_observations(2, 60.0)
    reported = np.full((2, 3), 1000.0, dtype=np.float32)
    observed = reported.copy()
    observed[1, 0] = 500.0  # node 1 claims twice the CPU it has
    obs = dataclasses.replace(obs, reported_capacity=reported, observed_capacity=observed)
    up = update_reputation(nodes, obs, PolicyParams(), now)
    assert up.lying.tolist() == [False, True]
    assert up.reputation[1] < 0.5 * up.reputation[0] + 1e-6


def test_new_key_starts_as_newcomer_and_stake_lifts_it() -> None:
    now = 100 * DAY
    params = PolicyParams()
    fresh = make_nodes(
        np.full((3, 3), 1000.0), joined_at_s=now, reputation=params.reputation.initial
    )
    fresh = dataclasses.replace(
        fresh,
        stake_gwei=np.array([0, params.tiers.stake_gwei_for_established, 0]),
        paid_access=np.array([False, False, True]),
    )
    up = update_reputation(fresh, make_observations(3, 60.0), params, now)
    assert up.tier.tolist() == [Tier.NEWCOMER, Tier.ESTABLISHED, Tier.ESTABLISHED]
    assert float(up.reputation[0]) == 0.0  # zero tenure: no evidence, cycling keys never helps


def test_tenure_accrues_and_trusted_needs_time() -> None:
    now = 100 * DAY
    old = _nodes(1, 0.95, 60, now)
    young = _nodes(1, 0.95, 1, now)
    params = PolicyParams()
    assert update_reputation(old, None, params, now).tier[0] == Tier.TRUSTED
    assert update_reputation(young, None, params, now).tier[0] == Tier.NEWCOMER


def test_disabled_reputation_leaves_scores_and_admits_everyone() -> None:
    nodes = _nodes(4, 0.0, 0, DAY)
    up = update_reputation(nodes, make_observations(4, 60.0), kubernetes_baseline(), DAY)
    assert np.array_equal(up.reputation, nodes.reputation)  # type: ignore[attr-defined]
    assert set(up.tier.tolist()) == {Tier.ESTABLISHED}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), probed_share=st.floats(0.0, 1.0))
def test_sparse_probes_equal_nan_rows(seed: int, probed_share: float) -> None:
    """``observed_rows`` (probed rows only) means exactly what NaN rows mean for the others."""
    rng = np.random.default_rng(seed)
    n, now = 200, 100 * DAY
    nodes = make_nodes(
        np.full((n, 3), 1000.0), reputation=rng.random(n), joined_at_s=now - 30 * DAY
    )
    reported = rng.uniform(500, 2000, (n, 3)).astype(np.float32)
    truth = rng.uniform(500, 2000, (n, 3)).astype(np.float32)
    probed = np.flatnonzero(rng.random(n) < probed_share)
    dense = np.full((n, 3), np.nan, dtype=np.float32)
    dense[probed] = truth[probed]
    obs = dataclasses.replace(make_observations(n, 600.0), reported_capacity=reported)
    full = update_reputation(
        nodes, dataclasses.replace(obs, observed_capacity=dense), PolicyParams(), now
    )
    sparse = update_reputation(
        nodes,
        dataclasses.replace(obs, observed_capacity=truth[probed], observed_rows=probed),
        PolicyParams(),
        now,
    )
    assert full.lying.tolist() == sparse.lying.tolist()
    assert full.reputation.tobytes() == sparse.reputation.tobytes()
    assert full.tier.tolist() == sparse.tier.tolist()
    assert full.lying.any() == bool(probed.size and full.lying[probed].any())


def _reference(nodes, obs, params: PolicyParams, now: float):  # type: ignore[no-untyped-def]
    """The formula of the module docstring as plain float32 numpy, one operation at a time."""
    rp, tp, f32 = params.reputation, params.tiers, np.float32
    wsum = rp.weight_uptime + rp.weight_jobs + rp.weight_sla
    tenure_s = (now - nodes.joined_at_s).astype(f32)
    ok = obs.jobs_succeeded.astype(f32)
    jobs = obs.jobs_failed.astype(f32) + ok
    job_factor = (ok + f32(1)) / (jobs + f32(2))
    quality = obs.uptime_fraction * f32(rp.weight_uptime / wsum) + job_factor * f32(
        rp.weight_jobs / wsum
    )
    sla = np.minimum(obs.sla_violations.astype(f32) / np.maximum(jobs, f32(1)), f32(1))
    quality += sla * f32(-rp.weight_sla / wsum) + f32(rp.weight_sla / wsum)
    evidence = quality * np.clip(tenure_s * f32(1.0 / rp.tenure_full_s), f32(0), f32(1))
    step = evidence - nodes.reputation
    gain = f32(1.0 - np.exp(-obs.interval_s / rp.gain_tau_s))
    loss = f32(1.0 - np.exp(-obs.interval_s / rp.loss_tau_s))
    score = nodes.reputation + step * np.where(step >= 0, gain, loss)
    lying = (obs.reported_capacity > obs.observed_capacity * f32(1.0 + rp.lie_tolerance)).any(1)
    score = np.clip(np.where(lying, score * f32(1.0 - rp.lie_penalty), score), f32(0), f32(1))
    established = (score >= f32(tp.established_reputation)) & (
        tenure_s >= f32(tp.established_tenure_s)
    )
    established |= (nodes.stake_gwei >= tp.stake_gwei_for_established) | nodes.paid_access
    trusted = (
        established & (score >= f32(tp.trusted_reputation)) & (tenure_s >= f32(tp.trusted_tenure_s))
    )
    return score, established.astype(np.int8) + trusted.astype(np.int8), lying


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    interval=st.floats(1.0, 30 * DAY),
    special=st.booleans(),
)
def test_compiled_pass_equals_the_numpy_formula(
    seed: int, n: int, interval: float, special: bool
) -> None:
    """Bit-equal scores, equal tiers and lie flags, including NaN, -0.0 and out-of-range inputs."""
    rng = np.random.default_rng(seed)
    now = 100 * DAY
    values = [0.0, -0.0, np.nan, 1e-45, 1.0, 2.0, -1.0] if special else [0.5]
    score0 = rng.choice(np.r_[rng.random(8), values], n).astype(np.float32)
    nodes = make_nodes(
        rng.uniform(100, 2000, (n, 3)),
        reputation=0.0,
        joined_at_s=now - rng.uniform(-DAY, 60 * DAY, n),
    )
    nodes = dataclasses.replace(
        nodes,
        reputation=score0,
        stake_gwei=rng.choice([0, 10**12, 2 * 10**12], n).astype(np.int64),
        paid_access=rng.random(n) < 0.1,
    )
    obs = dataclasses.replace(
        make_observations(n, interval),
        uptime_fraction=rng.choice(np.r_[rng.random(6), values], n).astype(np.float32),
        jobs_succeeded=rng.integers(0, 50, n).astype(np.int32),
        jobs_failed=rng.integers(0, 50, n).astype(np.int32),
        sla_violations=rng.integers(0, 80, n).astype(np.int32),
        reported_capacity=nodes.capacity * rng.uniform(0.8, 1.4, (n, 3)).astype(np.float32),
        observed_capacity=nodes.capacity,
    )
    got = update_reputation(nodes, obs, PolicyParams(), now)
    score, tier, lying = _reference(nodes, obs, PolicyParams(), now)
    assert got.reputation.tobytes() == score.tobytes()
    assert got.tier.tolist() == tier.tolist()
    assert got.lying.tolist() == lying.tolist()
    # Donated columns: the same values, written over the input scores and tiers.
    given_nodes = dataclasses.replace(nodes, reputation=score0.copy(), tier=nodes.tier.copy())
    donated = update_reputation(given_nodes, obs, PolicyParams(), now, donate=True)
    assert donated.reputation is given_nodes.reputation
    assert donated.tier is given_nodes.tier
    assert donated.reputation.tobytes() == score.tobytes()
    assert donated.tier.tolist() == tier.tolist()
    assert donated.lying.tolist() == lying.tolist()


def test_donated_columns_that_cannot_take_the_scores_are_left_alone() -> None:
    """A read-only or non-float32 score column is not written: fresh outputs, as without donate."""
    now = 100 * DAY
    nodes = _nodes(4, 0.5, 30, now)
    frozen = nodes.reputation.copy()  # type: ignore[attr-defined]
    frozen.flags.writeable = False
    nodes = dataclasses.replace(nodes, reputation=frozen)  # type: ignore[type-var]
    obs = make_observations(4, 600.0)
    up = update_reputation(nodes, obs, PolicyParams(), now, donate=True)  # type: ignore[arg-type]
    assert up.reputation is not frozen
    assert frozen.tolist() == [0.5] * 4
    assert (
        up.reputation.tobytes()
        == update_reputation(nodes, obs, PolicyParams(), now).reputation.tobytes()
    )  # type: ignore[arg-type]
