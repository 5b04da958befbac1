"""Raw lagged coefficients of an account's (activity, objective) pairs, kept for transparency.

Every pair of a plan is correlated on the levels as activity[t] against performance[t + k] for
k = 0..max_lag. CSMs like to see these numbers, but levels of trending, autocorrelated series
correlate without any link between them, so they never decide anything: the verdicts come from
``leadlag`` (pre-whitened, FDR-controlled) and ``cohorts``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from services.correlation.plans import SuccessPlan
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series, aligned_pairs

DEFAULT_MAX_LAG = 4
DEFAULT_MIN_POINTS = 10


@dataclass(frozen=True)
class LagCorrelation:
    """Activity at t against performance at t + ``lag`` over ``n`` paired periods."""

    lag: int
    n: int
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float


LagOutcome = LagCorrelation | InsufficientEvidence


@dataclass(frozen=True)
class PairCorrelation:
    """Every lag of one (activity, performance) pair; ``lags[k]`` is the outcome at lag k."""

    activity_metric: str
    performance_metric: str
    lags: tuple[LagOutcome, ...]


def correlate_at_lag(
    activity: Series, performance: Series, lag: int, *, min_points: int = DEFAULT_MIN_POINTS
) -> LagOutcome:
    """Pearson and Spearman of activity[t] with performance[t + lag] over known pairs."""
    xs, ys = aligned_pairs(activity, performance, lag)
    n = len(xs)
    if n < min_points:
        return InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, points=n, required=min_points)
    x, y = np.asarray(xs), np.asarray(ys)
    # A constant side has no variance: both coefficients are undefined (scipy returns NaN).
    if np.all(x == x[0]) or np.all(y == y[0]):
        return InsufficientEvidence(EvidenceGap.CONSTANT_SERIES, points=n, required=min_points)
    pearson_r, pearson_p = _pearson(x, y)
    spearman_rho, spearman_p = _pearson(_ranks(x), _ranks(y))
    return LagCorrelation(
        lag=lag,
        n=n,
        pearson_r=pearson_r,
        pearson_p=pearson_p,
        spearman_rho=spearman_rho,
        spearman_p=spearman_p,
    )


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """r and its two-sided p (t with n - 2 degrees of freedom), as scipy.stats.pearsonr gives
    them; computed directly because the view runs this for every lag of every pair."""
    dx, dy = x - x.mean(), y - y.mean()
    r = float(np.clip((dx @ dy) / math.sqrt(float(dx @ dx) * float(dy @ dy)), -1.0, 1.0))
    df = x.size - 2
    if abs(r) == 1.0:
        return r, 0.0
    t_stat = r * math.sqrt(df / (1 - r * r))
    return r, float(2 * special.stdtr(df, -abs(t_stat)))


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (scipy.stats.rankdata's default)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average: np.ndarray = (ends - (counts - 1) / 2.0)[inverse]
    return average


def lagged_correlation(
    activity: Series,
    performance: Series,
    *,
    max_lag: int = DEFAULT_MAX_LAG,
    min_points: int = DEFAULT_MIN_POINTS,
) -> PairCorrelation:
    """The pair's outcome at every lag 0..``max_lag``."""
    return PairCorrelation(
        activity_metric=activity.metric,
        performance_metric=performance.metric,
        lags=tuple(
            correlate_at_lag(activity, performance, lag, min_points=min_points)
            for lag in range(max_lag + 1)
        ),
    )


def correlate_plan(
    plan: SuccessPlan,
    series: Mapping[str, Series],
    *,
    max_lag: int = DEFAULT_MAX_LAG,
    min_points: int = DEFAULT_MIN_POINTS,
) -> tuple[PairCorrelation, ...]:
    """Every (itinerary activity, objective) pair of ``plan``; ``series`` is keyed by metric.

    A metric without a series has no points, so its pairs are insufficient evidence.
    """
    no_data = InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, points=0, required=min_points)
    pairs = []
    for activity in plan.itinerary:
        for objective in plan.objectives:
            if activity.metric in series and objective.metric in series:
                pairs.append(
                    lagged_correlation(
                        series[activity.metric],
                        series[objective.metric],
                        max_lag=max_lag,
                        min_points=min_points,
                    )
                )
            else:
                lags = (no_data,) * (max_lag + 1)
                pairs.append(PairCorrelation(activity.metric, objective.metric, lags))
    return tuple(pairs)
