"""Which activities move performance: lagged correlations per account, pooled per cohort.

Per account, every (activity, objective) pair of a plan is correlated as activity[t] against
performance[t + k] for k = 0..max_lag, because people changing how they work shows in results
periods later. Across a cohort (accounts of one segment) the per-account coefficients are pooled
with Fisher's z, weighting each by n - 3, and the pooled effects rank an "ideal itinerary".
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import stats

from services.correlation.plans import ActivityCategory, ActivityDirection, SuccessPlan
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series, aligned_pairs

DEFAULT_MAX_LAG = 4
DEFAULT_MIN_POINTS = 6
DEFAULT_MIN_ACCOUNTS = 2
Z_95 = 1.959963984540054  # two-sided 95% quantile of the standard normal
# atanh(+-1) is infinite; a perfect coefficient is clipped so it weighs heavily but stays finite.
_R_LIMIT = 1 - 1e-12

_Choice = TypeVar("_Choice", ActivityCategory, ActivityDirection)


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

    @property
    def best(self) -> LagOutcome:
        """The lag with the largest |Pearson r| (smallest lag on ties).

        Without any lag that has enough evidence, the gap with the most points explains why.
        """
        measured = [lag for lag in self.lags if isinstance(lag, LagCorrelation)]
        if measured:
            return max(measured, key=lambda lag: (abs(lag.pearson_r), -lag.lag))
        gaps = [lag for lag in self.lags if isinstance(lag, InsufficientEvidence)]
        return max(gaps, key=lambda gap: gap.points)


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
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    return LagCorrelation(
        lag=lag,
        n=n,
        pearson_r=float(pearson.statistic),
        pearson_p=float(pearson.pvalue),
        spearman_rho=float(spearman.statistic),
        spearman_p=float(spearman.pvalue),
    )


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


@dataclass(frozen=True)
class PooledCorrelation:
    """A cohort's pooled Pearson r for one pair at one lag, with its 95% confidence interval."""

    activity_metric: str
    performance_metric: str
    lag: int
    r: float
    ci_low: float
    ci_high: float
    n: int
    accounts: int


def fisher_pool(samples: Iterable[tuple[float, int]]) -> tuple[float, float, float]:
    """Pool (r, n) samples: mean of atanh(r) weighted by n - 3, back with tanh.

    Returns (r, ci_low, ci_high); the interval is z +- 1.96 / sqrt(sum of weights).
    Samples with n <= 3 carry no weight; raises ValueError when none is left.
    """
    weighted = [(math.atanh(max(-_R_LIMIT, min(_R_LIMIT, r))), n - 3) for r, n in samples if n > 3]
    total = sum(weight for _, weight in weighted)
    if not total:
        raise ValueError("Fisher pooling needs at least one sample with n > 3")
    z = sum(zi * weight for zi, weight in weighted) / total
    half_width = Z_95 / math.sqrt(total)
    return math.tanh(z), math.tanh(z - half_width), math.tanh(z + half_width)


def pool_cohort(
    pairs_by_account: Mapping[str, Iterable[PairCorrelation]],
    *,
    min_accounts: int = DEFAULT_MIN_ACCOUNTS,
) -> tuple[PooledCorrelation, ...]:
    """Per (activity, performance) pair, the pooled correlation at the cohort's best lag.

    Each lag is pooled across the accounts that have evidence at it (at least ``min_accounts``);
    the lag with the largest |pooled r| is kept. Sorted by |r|, strongest first.
    """
    samples: dict[tuple[str, str, int], list[LagCorrelation]] = defaultdict(list)
    for pairs in pairs_by_account.values():
        for pair in pairs:
            for outcome in pair.lags:
                if isinstance(outcome, LagCorrelation) and outcome.n > 3:
                    key = (pair.activity_metric, pair.performance_metric, outcome.lag)
                    samples[key].append(outcome)
    best: dict[tuple[str, str], PooledCorrelation] = {}
    for (activity, performance, lag), outcomes in sorted(samples.items()):
        if len(outcomes) < min_accounts:
            continue
        r, low, high = fisher_pool((o.pearson_r, o.n) for o in outcomes)
        pooled = PooledCorrelation(
            activity, performance, lag, r, low, high, sum(o.n for o in outcomes), len(outcomes)
        )
        current = best.get((activity, performance))
        if current is None or abs(pooled.r) > abs(current.r):
            best[(activity, performance)] = pooled
    return tuple(sorted(best.values(), key=lambda p: (-abs(p.r), p.activity_metric)))


@dataclass(frozen=True)
class ItineraryStep:
    """A recommended activity for a new account, with what the cohort typically commits to."""

    activity_metric: str
    effect: PooledCorrelation
    category: ActivityCategory | None
    direction: ActivityDirection | None
    typical_target: float | None
    plans: int


def ideal_itinerary(
    pooled: Iterable[PooledCorrelation],
    cohort_plans: Iterable[SuccessPlan],
    *,
    performance_metrics: Collection[str] | None = None,
) -> tuple[ItineraryStep, ...]:
    """Activities ranked by their strongest pooled effect on ``performance_metrics`` (all if None).

    Category and direction are the cohort's most common choice and the typical target the median
    of the cohort's targets; all three are None for an activity no cohort plan commits to.
    """
    strongest: dict[str, PooledCorrelation] = {}
    for effect in pooled:
        if performance_metrics is not None and effect.performance_metric not in performance_metrics:
            continue
        current = strongest.get(effect.activity_metric)
        if current is None or abs(effect.r) > abs(current.r):
            strongest[effect.activity_metric] = effect
    committed = defaultdict(list)
    for plan in cohort_plans:
        for activity in plan.itinerary:
            committed[activity.metric].append(activity)
    steps = []
    for metric, effect in strongest.items():
        targets = committed.get(metric, [])
        steps.append(
            ItineraryStep(
                activity_metric=metric,
                effect=effect,
                category=_most_common(t.category for t in targets),
                direction=_most_common(t.direction for t in targets),
                typical_target=statistics.median(t.target_per_period for t in targets)
                if targets
                else None,
                plans=len(targets),
            )
        )
    return tuple(sorted(steps, key=lambda s: (-abs(s.effect.r), s.activity_metric)))


def _most_common(values: Iterable[_Choice]) -> _Choice | None:
    """The most frequent value, alphabetically first on ties, so the answer is stable."""
    counts = Counter(values)
    if not counts:
        return None
    return min(counts, key=lambda value: (-counts[value], value))
