"""Lead/lag verdicts: does an activity move the objective, beyond shared trends and autocorrelation?

Weekly activity and KPI series are short (20-26 points), trending and autocorrelated, so the
levels of two unrelated series often correlate strongly. Each (activity, objective) pair is
therefore judged on pre-whitened series (Box and Jenkins' method for cross-correlations):

1. Both series are detrended by their own least-squares line (a shared trend is not evidence).
2. An AR(1) model is fitted to the detrended activity; the same filter ``e[t] - phi * e[t-1]``
   is applied to both detrended series. The filtered activity is close to white noise, so the
   cross-correlation at each lag has the sampling variance of independent data (about 1/n)
   whatever the objective's own autocorrelation.
3. At each lag k = 0..max_lag the filtered activity at t is correlated with the filtered
   objective at t + k; the slope of that pair is the effect (objective units per activity unit)
   with its t interval. The test is one-sided in the direction the plan intends (more of an
   activity to ``increase`` should move the objective in its ``direction``).
4. Benjamini-Hochberg q-values are taken over every lag x activity x objective of the plan; a
   pair ``moves_objective`` when its best lag has q <= the false discovery rate.

This is evidence of a lead, not of causation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import special, stats

from services.correlation.plans import ActivityDirection, ActivityTarget, Direction, SuccessPlan
from services.correlation.series import Series

DEFAULT_FALSE_DISCOVERY_RATE = 0.05
DEFAULT_MIN_POINTS = 10
CONFIDENCE = 0.95


class Verdict(StrEnum):
    """What the evidence says about one (activity, objective) pair."""

    MOVES_OBJECTIVE = "moves_objective"
    NO_EVIDENCE = "no_evidence"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


class VerdictGap(StrEnum):
    """Why a pair has insufficient evidence."""

    TOO_FEW_POINTS = "too_few_points"
    CONSTANT_SERIES = "constant_series"
    TOO_FEW_PERIODS_AFTER_WHITENING = "too_few_periods_after_whitening"


@dataclass(frozen=True)
class LagTest:
    """The pre-whitened test of one lag: activity at t against the objective at t + ``lag``."""

    lag: int
    n: int
    r: float
    effect: float
    ci_low: float
    ci_high: float
    p_value: float
    p_two_sided: float
    q_value: float = math.nan


@dataclass(frozen=True)
class LeadLag:
    """The verdict on one (activity, objective) pair, with the lag tests behind it.

    ``lag`` and the effect fields describe the best lag (the smallest one-sided p), also when
    the verdict is ``no_evidence``, so a CSM sees how close it came; all are None when the
    evidence is insufficient. ``intended_sign`` is +1 when more of the activity should raise
    the objective's value, -1 when it should lower it.
    """

    activity_metric: str
    objective_metric: str
    verdict: Verdict
    intended_sign: int
    reason: VerdictGap | None
    points: int
    lag: int | None
    tests: tuple[LagTest, ...]

    @property
    def best(self) -> LagTest | None:
        """The test at ``lag``."""
        return next((t for t in self.tests if t.lag == self.lag), None)

    @property
    def opposite_direction(self) -> bool:
        """Some lag's two-sided evidence is strong (Bonferroni over the lags at 5%) but points
        against the plan's intention: worth a look, never a recommendation."""
        if self.verdict is Verdict.MOVES_OBJECTIVE or not self.tests:
            return False
        strongest = min(self.tests, key=lambda t: t.p_two_sided)
        return strongest.p_value > 0.5 and strongest.p_two_sided < 0.05 / len(self.tests)


def intended_sign(activity: ActivityTarget, objective_direction: Direction) -> int:
    """+1 when more of the activity is meant to raise the objective's value, -1 to lower it."""
    more_is_better = activity.direction is ActivityDirection.INCREASE
    up = objective_direction is Direction.UP
    return 1 if more_is_better == up else -1


def _aligned_levels(
    activity: Series, objective: Series
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Both series over the periods from the first to the last where both are known; interior
    gaps interpolated linearly. Returns (x, y, known points) or None without two shared points."""
    by_key = dict(zip(objective.keys, objective.values, strict=True))
    xs: list[float] = []
    ys: list[float] = []
    for key, x in zip(activity.keys, activity.values, strict=True):
        y = by_key.get(key)
        xs.append(math.nan if x is None else x)
        ys.append(math.nan if y is None else y)
    x_arr, y_arr = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    both = np.flatnonzero(~np.isnan(x_arr) & ~np.isnan(y_arr))
    if both.size < 2:
        return None
    span = slice(int(both[0]), int(both[-1]) + 1)
    x_arr, y_arr = x_arr[span], y_arr[span]
    positions = np.arange(x_arr.size, dtype=float)
    for values in (x_arr, y_arr):
        missing = np.isnan(values)
        if missing.any():
            values[missing] = np.interp(positions[missing], positions[~missing], values[~missing])
    return x_arr, y_arr, int(both.size)


def detrend(values: np.ndarray) -> np.ndarray:
    """Residuals of the least-squares line through ``values`` against 0, 1, 2, ..."""
    t = np.arange(values.size, dtype=float)
    design = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residuals: np.ndarray = values - design @ coef
    return residuals


def ar1_coefficient(values: np.ndarray) -> float:
    """Least-squares AR(1) coefficient of a detrended series (no intercept), kept in (-1, 1)."""
    previous, current = values[:-1], values[1:]
    denominator = float(previous @ previous)
    if denominator == 0:
        return 0.0
    return float(np.clip((previous @ current) / denominator, -0.99, 0.99))


def prewhiten(activity: np.ndarray, objective: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Detrend both, then filter both with the activity's AR(1); returns (x', y', phi)."""
    x, y = detrend(activity), detrend(objective)
    phi = ar1_coefficient(x)
    return x[1:] - phi * x[:-1], y[1:] - phi * y[:-1], phi


def lag_test(x: np.ndarray, y: np.ndarray, lag: int, sign: int) -> LagTest | None:
    """Correlate ``x[t]`` with ``y[t + lag]``; None when a side is constant or n < 4."""
    xs = x[: x.size - lag] if lag else x
    ys = y[lag:]
    n = xs.size
    if n < 4 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return None
    dx, dy = xs - xs.mean(), ys - ys.mean()
    r = float(np.clip((dx @ dy) / math.sqrt(float(dx @ dx) * float(dy @ dy)), -1.0, 1.0))
    df = n - 3
    slope = float(dx @ dy) / float(dx @ dx)
    if abs(r) >= 1.0:
        t_stat = math.copysign(math.inf, r)
        half = 0.0
    else:
        t_stat = r * math.sqrt(df / (1 - r * r))
        # scipy.special's t functions: the same values as stats.t, without its per-call cost.
        quantile = float(special.stdtrit(df, 0.5 + CONFIDENCE / 2))
        half = quantile * abs(slope / t_stat) if r else math.inf
    return LagTest(
        lag=lag,
        n=n,
        r=r,
        effect=slope,
        ci_low=slope - half,
        ci_high=slope + half,
        p_value=float(special.stdtr(df, -sign * t_stat)),
        p_two_sided=float(2 * special.stdtr(df, -abs(t_stat))),
    )


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    if not p_values:
        return []
    adjusted = stats.false_discovery_control(np.asarray(p_values, dtype=float), method="bh")
    return [float(q) for q in adjusted]


def _insufficient(
    activity: str, objective: str, sign: int, reason: VerdictGap, points: int
) -> LeadLag:
    return LeadLag(
        activity, objective, Verdict.INSUFFICIENT_EVIDENCE, sign, reason, points, None, ()
    )


def judge_pair(
    activity: ActivityTarget,
    objective_metric: str,
    objective_direction: Direction,
    activity_series: Series,
    objective_series: Series,
    *,
    max_lag: int,
    min_points: int = DEFAULT_MIN_POINTS,
) -> LeadLag:
    """The lag tests of one pair (q-values and verdict not yet set: see ``judge_plan``)."""
    sign = intended_sign(activity, objective_direction)
    name = activity.metric
    aligned = _aligned_levels(activity_series, objective_series)
    if aligned is None:
        return _insufficient(name, objective_metric, sign, VerdictGap.TOO_FEW_POINTS, 0)
    x, y, known = aligned
    if known < min_points:
        return _insufficient(name, objective_metric, sign, VerdictGap.TOO_FEW_POINTS, known)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return _insufficient(name, objective_metric, sign, VerdictGap.CONSTANT_SERIES, known)
    xw, yw, _ = prewhiten(x, y)
    tests = tuple(
        test
        for lag in range(max_lag + 1)
        if xw.size - lag >= min_points - 1 and (test := lag_test(xw, yw, lag, sign)) is not None
    )
    if not tests:
        gap = VerdictGap.TOO_FEW_PERIODS_AFTER_WHITENING
        return _insufficient(name, objective_metric, sign, gap, known)
    return LeadLag(name, objective_metric, Verdict.NO_EVIDENCE, sign, None, known, None, tests)


def judge_plan(
    plan: SuccessPlan,
    series: Mapping[str, Series],
    *,
    max_lag: int,
    min_points: int = DEFAULT_MIN_POINTS,
    false_discovery_rate: float = DEFAULT_FALSE_DISCOVERY_RATE,
) -> tuple[LeadLag, ...]:
    """Every (activity, objective) verdict of ``plan``, with FDR control across the plan."""
    pairs: list[LeadLag] = []
    for activity in plan.itinerary:
        for objective in plan.objectives:
            if activity.metric in series and objective.metric in series:
                pairs.append(
                    judge_pair(
                        activity,
                        objective.metric,
                        objective.direction,
                        series[activity.metric],
                        series[objective.metric],
                        max_lag=max_lag,
                        min_points=min_points,
                    )
                )
            else:
                sign = intended_sign(activity, objective.direction)
                pairs.append(
                    _insufficient(
                        activity.metric, objective.metric, sign, VerdictGap.TOO_FEW_POINTS, 0
                    )
                )
    return apply_false_discovery_control(pairs, false_discovery_rate)


def apply_false_discovery_control(
    pairs: Sequence[LeadLag], false_discovery_rate: float
) -> tuple[LeadLag, ...]:
    """Set q-values over every lag test of ``pairs``, then each pair's best lag and verdict.

    The best lag is the one with the smallest q (then p, then the shorter lag); the pair moves
    the objective when that q is at most ``false_discovery_rate``.
    """
    flat = [test.p_value for pair in pairs for test in pair.tests]
    q_values = iter(benjamini_hochberg(flat))
    judged = []
    for pair in pairs:
        if not pair.tests:
            judged.append(pair)
            continue
        tests = tuple(
            LagTest(**{**test.__dict__, "q_value": next(q_values)}) for test in pair.tests
        )
        best = min(tests, key=lambda t: (t.q_value, t.p_value, t.lag))
        verdict = (
            Verdict.MOVES_OBJECTIVE if best.q_value <= false_discovery_rate else Verdict.NO_EVIDENCE
        )
        judged.append(
            LeadLag(
                pair.activity_metric,
                pair.objective_metric,
                verdict,
                pair.intended_sign,
                None,
                pair.points,
                best.lag,
                tests,
            )
        )
    return tuple(judged)
