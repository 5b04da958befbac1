import math

import numpy as np
import pytest
from scipy import stats

from services.correlation.buckets import PeriodUnit, shift_period
from services.correlation.correlations import (
    LagCorrelation,
    PairCorrelation,
    correlate_at_lag,
    correlate_plan,
    fisher_pool,
    ideal_itinerary,
    lagged_correlation,
    pool_cohort,
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


def test_activity_leading_performance_by_two_periods_has_best_lag_two() -> None:
    rng = np.random.default_rng(42)
    activity = rng.normal(20, 5, size=40)
    performance = rng.normal(0, 1, size=40)
    performance[2:] += 3 * activity[:-2]  # performance[t] follows activity[t - 2]
    best = lagged_correlation(_weekly("contacts", activity), _weekly("deals", performance)).best
    assert isinstance(best, LagCorrelation)
    assert best.lag == 2
    assert best.pearson_r == pytest.approx(stats.pearsonr(activity[:-2], performance[2:]).statistic)


def test_best_lag_is_chosen_by_absolute_coefficient() -> None:
    rng = np.random.default_rng(9)
    activity = rng.normal(20, 5, size=40)
    performance = rng.normal(0, 1, size=40)
    performance[1:] -= 3 * activity[:-1]  # more cold calls, fewer deals one period later
    best = lagged_correlation(_weekly("cold_calls", activity), _weekly("deals", performance)).best
    assert isinstance(best, LagCorrelation)
    assert best.lag == 1
    assert best.pearson_r < -0.9


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
    values = rng.normal(size=6)
    at_five = correlate_at_lag(_weekly("a", values[:5]), _weekly("p", values[::-1][:5]), 0)
    assert at_five == InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, points=5, required=6)
    at_six = correlate_at_lag(_weekly("a", values), _weekly("p", values[::-1]), 0)
    assert isinstance(at_six, LagCorrelation)
    # lag 1 over six periods leaves five pairs
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


def test_best_without_any_evidence_is_the_gap_with_most_points() -> None:
    pair = lagged_correlation(
        _weekly("a", [1.0, 2.0, 3.0, 4.0]), _weekly("p", [2.0, 1.0, 4.0, 3.0])
    )
    best = pair.best
    assert isinstance(best, InsufficientEvidence)
    assert best.points == 4  # lag 0 has all four pairs


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
    pairs = correlate_plan(plan, series, max_lag=2)
    assert [(p.activity_metric, p.performance_metric) for p in pairs] == [
        ("contacts", "conversion"),
        ("campaigns", "conversion"),
    ]
    assert all(isinstance(outcome, LagCorrelation) for outcome in pairs[0].lags)
    assert pairs[1].lags == (InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, 0, 6),) * 3


def test_fisher_pool_matches_a_numpy_computation() -> None:
    rs, ns = np.array([0.5, 0.3, 0.7]), np.array([10, 20, 15])
    weights = ns - 3  # 7, 17, 12
    z = np.average(np.arctanh(rs), weights=weights)
    half = 1.959963984540054 / np.sqrt(weights.sum())  # 1.96 / sqrt(36) = 0.3267
    r, low, high = fisher_pool(zip(rs.tolist(), ns.tolist(), strict=True))
    assert r == pytest.approx(np.tanh(z))
    assert (low, high) == pytest.approx((np.tanh(z - half), np.tanh(z + half)))


def test_fisher_pool_of_equal_coefficients_is_that_coefficient() -> None:
    # atanh(0.5) = 0.5493 for both; weights 10 and 20; total weight 30
    r, low, high = fisher_pool([(0.5, 13), (0.5, 23)])
    assert r == pytest.approx(0.5)
    assert low == pytest.approx(math.tanh(math.atanh(0.5) - 1.959964 / math.sqrt(30)))
    assert high == pytest.approx(math.tanh(math.atanh(0.5) + 1.959964 / math.sqrt(30)))


def test_fisher_pool_keeps_a_perfect_coefficient_finite_and_refuses_no_weight() -> None:
    r, _, _ = fisher_pool([(1.0, 10)])
    assert 0.999 < r <= 1.0
    with pytest.raises(ValueError):
        fisher_pool([(0.4, 3)])


def _lag(lag: int, r: float, n: int) -> LagCorrelation:
    return LagCorrelation(lag, n, r, 0.01, r, 0.01)


def test_cohort_pools_each_lag_and_keeps_the_strongest() -> None:
    gap = InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, 2, 6)
    by_account = {
        "acme": [PairCorrelation("contacts", "conversion", (_lag(0, 0.1, 13), _lag(1, 0.6, 12)))],
        "globex": [PairCorrelation("contacts", "conversion", (_lag(0, 0.2, 23), _lag(1, 0.4, 22)))],
        "initech": [PairCorrelation("contacts", "conversion", (gap, gap))],
        "solo": [PairCorrelation("campaigns", "conversion", (_lag(0, 0.9, 30),))],
    }
    pooled = pool_cohort(by_account)
    assert len(pooled) == 1  # campaigns has a single account, below min_accounts=2
    (effect,) = pooled
    expected_r, _, _ = fisher_pool([(0.6, 12), (0.4, 22)])
    weights = np.array([9, 19])
    assert expected_r == pytest.approx(np.tanh(np.average(np.arctanh([0.6, 0.4]), weights=weights)))
    assert (effect.lag, effect.n, effect.accounts) == (1, 34, 2)
    assert effect.r == pytest.approx(expected_r)
    assert len(pool_cohort(by_account, min_accounts=1)) == 2


def test_ideal_itinerary_ranks_by_pooled_effect_with_median_targets() -> None:
    effects = pool_cohort(
        {
            "a": [
                PairCorrelation("contacts", "conversion", (_lag(0, 0.3, 20),)),
                PairCorrelation("cold_calls", "conversion", (_lag(0, -0.7, 20),)),
                PairCorrelation("logins", "churn", (_lag(0, 0.9, 20),)),
            ],
            "b": [
                PairCorrelation("contacts", "conversion", (_lag(0, 0.3, 20),)),
                PairCorrelation("cold_calls", "conversion", (_lag(0, -0.7, 20),)),
                PairCorrelation("logins", "churn", (_lag(0, 0.9, 20),)),
            ],
        }
    )
    plans = [
        _plan(
            "a", _activity("contacts", 20), _activity("cold_calls", 10, ActivityCategory.BEHAVIOUR)
        ),
        _plan("b", _activity("contacts", 30, ActivityCategory.TOOL)),
        _plan("c", _activity("contacts", 26)),
    ]
    steps = ideal_itinerary(effects, plans, performance_metrics={"conversion"})
    assert [s.activity_metric for s in steps] == ["cold_calls", "contacts"]  # |-0.7| > 0.3
    cold_calls, contacts = steps
    assert (contacts.typical_target, contacts.plans) == (26, 3)  # median of 20, 30, 26
    assert contacts.category is ActivityCategory.PROCESS  # 2 of 3 plans
    assert cold_calls.category is ActivityCategory.BEHAVIOUR
    assert cold_calls.effect.r == pytest.approx(-0.7)
    unfiltered = ideal_itinerary(effects, plans)
    assert unfiltered[0].activity_metric == "logins"
    assert (unfiltered[0].typical_target, unfiltered[0].category, unfiltered[0].plans) == (
        None,
        None,
        0,
    )
