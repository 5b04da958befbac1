import numpy as np
import pytest
from scipy import stats

from services.correlation.buckets import PeriodUnit, shift_period
from services.correlation.correlations import (
    LagCorrelation,
    correlate_at_lag,
    correlate_plan,
    lagged_correlation,
)
from services.correlation.plans import (
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
    Direction,
    Objective,
    SuccessPlan,
)
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series


def _weekly(metric: str, values: list[float | None] | np.ndarray) -> Series:
    keys = tuple(shift_period("2024-W01", i) for i in range(len(values)))
    return Series(
        metric, PeriodUnit.WEEK, keys, tuple(None if v is None else float(v) for v in values)
    )


def test_each_lag_matches_scipy_on_the_shifted_arrays() -> None:
    rng = np.random.default_rng(7)
    activity = rng.normal(10, 2, size=30)
    performance = 0.5 * activity + rng.normal(0, 1, size=30)
    pair = lagged_correlation(_weekly("calls", activity), _weekly("revenue", performance))
    assert len(pair.lags) == 5
    for k, outcome in enumerate(pair.lags):
        x, y = activity[: 30 - k], performance[k:]
        pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
        assert isinstance(outcome, LagCorrelation)
        assert (outcome.lag, outcome.n) == (k, 30 - k)
        assert outcome.pearson_r == pytest.approx(pearson.statistic)
        assert outcome.pearson_p == pytest.approx(pearson.pvalue)
        assert outcome.spearman_rho == pytest.approx(spearman.statistic)
        assert outcome.spearman_p == pytest.approx(spearman.pvalue)


def test_unknown_level_periods_are_left_out_of_the_pairs() -> None:
    rng = np.random.default_rng(3)
    activity = rng.normal(size=20)
    performance = rng.normal(size=20)
    known = rng.random(20) > 0.3
    levels = [float(v) if keep else None for v, keep in zip(performance, known, strict=True)]
    outcome = correlate_at_lag(_weekly("a", activity), _weekly("p", levels), 1)
    mask = known[1:]  # pairs (activity[i], performance[i + 1]) with a known performance
    x, y = activity[:-1][mask], performance[1:][mask]
    assert isinstance(outcome, LagCorrelation)
    assert outcome.n == int(mask.sum())
    assert outcome.pearson_r == pytest.approx(stats.pearsonr(x, y).statistic)


def test_fewer_points_than_the_minimum_is_insufficient_evidence() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=10)
    at_nine = correlate_at_lag(_weekly("a", values[:9]), _weekly("p", values[::-1][:9]), 0)
    assert at_nine == InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, points=9, required=10)
    at_ten = correlate_at_lag(_weekly("a", values), _weekly("p", values[::-1]), 0)
    assert isinstance(at_ten, LagCorrelation)
    # lag 1 over ten periods leaves nine pairs
    assert isinstance(
        correlate_at_lag(_weekly("a", values), _weekly("p", values), 1), InsufficientEvidence
    )


def test_constant_series_is_insufficient_evidence_not_nan() -> None:
    flat = _weekly("a", [4.0] * 10)
    moving = _weekly("p", list(range(10)))
    for activity, performance in ((flat, moving), (moving, flat)):
        outcome = correlate_at_lag(activity, performance, 0)
        assert isinstance(outcome, InsufficientEvidence)
        assert outcome.reason is EvidenceGap.CONSTANT_SERIES


def _plan(plan_id: str, *activities: ActivityTarget, objective: str = "conversion") -> SuccessPlan:
    return SuccessPlan(
        id=plan_id,
        account_id=plan_id,
        objectives=(
            Objective(
                metric=objective,
                baseline=2.2,
                target=3.2,
                direction=Direction.UP,
                deadline="2024-12-31",
            ),
        ),
        itinerary=activities,
    )


def _activity(
    metric: str, target: float, category: ActivityCategory = ActivityCategory.PROCESS
) -> ActivityTarget:
    return ActivityTarget(
        metric=metric,
        category=category,
        target_per_period=target,
        direction=ActivityDirection.INCREASE,
    )


def test_plan_pairs_every_activity_with_every_objective() -> None:
    rng = np.random.default_rng(5)
    plan = _plan("p1", _activity("contacts", 25), _activity("campaigns", 4))
    series = {
        "contacts": _weekly("contacts", rng.normal(size=12)),
        "conversion": _weekly("conversion", rng.normal(size=12)),
    }
    pairs = correlate_plan(plan, series, max_lag=2, min_points=6)
    assert [(p.activity_metric, p.performance_metric) for p in pairs] == [
        ("contacts", "conversion"),
        ("campaigns", "conversion"),
    ]
    assert all(isinstance(outcome, LagCorrelation) for outcome in pairs[0].lags)
    assert pairs[1].lags == (InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, 0, 6),) * 3
