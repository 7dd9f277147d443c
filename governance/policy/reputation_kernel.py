"""The reputation formula as one compiled pass over the node rows (float32, equal to numpy's).

Numpy needs a pass and a temporary per operation; at 1e7 nodes the formula is bound by that memory
traffic. The loop below performs, per row, exactly the float32 operations of the formula in
`governance.policy.reputation` in the same order (no fast-math: no reordering, no fused
multiply-add), so its results are bit-for-bit those of the numpy statement kept in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, F64, I8, I32, I64, Bool

# Positions in the float32 constants vector (one argument instead of eleven scalars).
W_UPTIME, W_JOBS, W_SLA, NEG_W_SLA, GAIN, LOSS, INV_TENURE_FULL, KEEP_AFTER_LIE = range(8)
ESTABLISHED_REP, ESTABLISHED_TENURE, TRUSTED_REP, TRUSTED_TENURE = range(8, 12)
N_CONSTANTS = 12

LIE_AHEAD = 64  # probes between a reported row's prefetch and its test (~1e6 probes at 1e7)

_F = TypeVar("_F", bound=Callable[..., Any])


def _inlined(fn: _F) -> _F:
    """Compile a helper the loop inlines (plain Python callers get the compiled one too)."""
    return cast(_F, numba.njit(cache=True, inline="always", error_model="numpy")(fn))


@_inlined
def _clamp01(x: np.float32) -> np.float32:
    """``clip(x, 0, 1)``: NaN and -0.0 pass through unchanged, as numpy's clip keeps them."""
    x = np.float32(0.0) if x < 0 else x
    return np.float32(1.0) if x > 1 else x


@_inlined
def _evidence(up: np.float32, ok_jobs: int, failed: int, violations: int, tenure: np.float32,
              w_uptime: np.float32, w_jobs: np.float32, w_sla: np.float32,
              neg_w_sla: np.float32) -> np.float32:  # fmt: skip
    """Tenure factor times the weighted behaviour quality of one node."""
    one, two = np.float32(1.0), np.float32(2.0)
    ok = np.float32(ok_jobs)
    jobs = np.float32(failed) + ok
    ok = (ok + one) / (jobs + two)
    quality = up * w_uptime + ok * w_jobs
    sla = np.float32(violations) / (jobs if jobs > one else one)
    sla = one if sla > one else sla
    quality += sla * neg_w_sla + w_sla
    return quality * tenure


@_inlined
def _rate_rows(
    now_s: float,
    joined_at_s: F64,
    reputation: F32,
    stake_gwei: I64,
    stake_min_gwei: int,
    paid_access: Bool,
    observed: bool,
    uptime: F32,
    succeeded: I32,
    failed: I32,
    violations: I32,
    lying: Bool,
    c: F32,
    score_out: F32,
    tier_out: I8,
) -> None:
    """Write each row's new score and tier (without ``observed`` scores stay, tiers are redone).

    ``score_out`` may be ``reputation`` itself: each row is read before it is written.
    """
    # Constants as locals: the outputs could alias ``c``, so reads through it would repeat per row
    # and keep the loop from vectorising.
    w_uptime, w_jobs, w_sla, neg_w_sla = c[W_UPTIME], c[W_JOBS], c[W_SLA], c[NEG_W_SLA]
    gain, loss, inv_full, keep = c[GAIN], c[LOSS], c[INV_TENURE_FULL], c[KEEP_AFTER_LIE]
    est_rep, est_tenure = c[ESTABLISHED_REP], c[ESTABLISHED_TENURE]
    trusted_rep, trusted_tenure = c[TRUSTED_REP], c[TRUSTED_TENURE]
    for i in range(reputation.shape[0]):
        tenure_s = np.float32(now_s - joined_at_s[i])
        score = reputation[i]
        if observed:
            tenure = _clamp01(tenure_s * inv_full)
            evidence = _evidence(
                uptime[i], succeeded[i], failed[i], violations[i], tenure,
                w_uptime, w_jobs, w_sla, neg_w_sla,
            )  # fmt: skip
            step = evidence - score
            score = score + step * (gain if step >= 0 else loss)
            score = _clamp01(score * keep if lying[i] else score)
        score_out[i] = score
        established = (score >= est_rep) & (tenure_s >= est_tenure)
        established |= (stake_gwei[i] >= stake_min_gwei) | paid_access[i]
        trusted = established & (score >= trusted_rep) & (tenure_s >= trusted_tenure)
        tier_out[i] = np.int8(established) + np.int8(trusted)


def _reputation_loop(now_s: float, joined_at_s: F64, reputation: F32, stake_gwei: I64,
                     stake_min_gwei: int, paid_access: Bool, observed: bool, uptime: F32,
                     succeeded: I32, failed: I32, violations: I32, lying: Bool, c: F32,
                     score_out: F32, tier_out: I8) -> None:  # fmt: skip
    """New scores into ``score_out`` and tiers into ``tier_out`` (`_rate_rows`)."""
    _rate_rows(now_s, joined_at_s, reputation, stake_gwei, stake_min_gwei, paid_access, observed,
               uptime, succeeded, failed, violations, lying, c, score_out, tier_out)  # fmt: skip


def _reputation_in_place_loop(now_s: float, joined_at_s: F64, reputation: F32, stake_gwei: I64,
                              stake_min_gwei: int, paid_access: Bool, observed: bool,
                              uptime: F32, succeeded: I32, failed: I32, violations: I32,
                              lying: Bool, c: F32, tier_out: I8) -> None:  # fmt: skip
    """`_reputation_loop` writing the scores over ``reputation`` (a donated column).

    Its own kernel, not ``score_out=reputation``: the compiler then sees one array read and
    written at the same row, where two arguments that overlap fail its run-time overlap check
    and send the loop down the scalar path.
    """
    _rate_rows(now_s, joined_at_s, reputation, stake_gwei, stake_min_gwei, paid_access, observed,
               uptime, succeeded, failed, violations, lying, c, reputation, tier_out)  # fmt: skip


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
reputation_loop = _jit(_reputation_loop)
reputation_in_place_loop = _jit(_reputation_in_place_loop)


def _lying_rows_loop(
    rows: I64, reported: F32, observed: F32, factor: np.float32, out: Bool
) -> None:
    """``out[rows[p]]``: some resource of that row reported above ``observed[p] * factor``.

    The numpy statement gathers the reported rows, compares, ORs the columns and scatters (five
    passes and three temporaries); here each probed row is read once. Rows in order, so a row
    named twice keeps its last verdict, as the numpy scatter does. NaN (unprobed) compares False.
    The probed rows are scattered over the table: each is a cache miss, so the row
    `LIE_AHEAD` probes on is prefetched (twice as fast at 1e6 probes of 1e7 nodes).
    """
    m, n_res = rows.shape[0], reported.shape[1]
    if n_res == 3:  # every real table: the row unrolled
        for p in range(m):
            if p + LIE_AHEAD < m:
                prefetch_read(reported, rows[p + LIE_AHEAD])
            i = rows[p]
            out[i] = (
                (reported[i, 0] > observed[p, 0] * factor)
                | (reported[i, 1] > observed[p, 1] * factor)
                | (reported[i, 2] > observed[p, 2] * factor)
            )
        return
    for p in range(m):
        i = rows[p]
        lie = False
        for r in range(n_res):
            lie |= reported[i, r] > observed[p, r] * factor
        out[i] = lie


lying_rows_loop = numba.njit(cache=True, nogil=True, error_model="numpy")(_lying_rows_loop)
