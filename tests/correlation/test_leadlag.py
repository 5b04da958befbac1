"""Lead/lag verdicts against statsmodels and scipy, and on generated series with known truth."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from services.correlation.leadlag import (
    Verdict,
    VerdictGap,
    ar1_coefficient,
    benjamini_hochberg,
    detrend,
    judge_plan,
    lag_test,
    prewhiten,
)
from services.correlation.plans import ActivityDirection, Direction
from tests.correlation.generated import NULL_KINDS, lead, null_series, plan_for, weekly

INCREASE = ActivityDirection.INCREASE


def test_prewhitening_matches_statsmodels_regressions() -> None:
    rng = np.random.default_rng(11)
    activity = null_series("ar1", 24, rng)
    objective = null_series("trend", 24, rng)
    t = sm.add_constant(np.arange(24.0))
    resid_x = sm.OLS(activity, t).fit().resid
    resid_y = sm.OLS(objective, t).fit().resid
    assert detrend(activity) == pytest.approx(resid_x, abs=1e-10)
    phi = sm.OLS(resid_x[1:], resid_x[:-1]).fit().params[0]
    assert ar1_coefficient(resid_x) == pytest.approx(phi, abs=1e-12)
    xw, yw, used = prewhiten(activity, objective)
    assert used == pytest.approx(phi, abs=1e-12)
    assert xw == pytest.approx(resid_x[1:] - phi * resid_x[:-1], abs=1e-10)
    assert yw == pytest.approx(resid_y[1:] - phi * resid_y[:-1], abs=1e-10)


def test_a_lag_test_is_the_regression_of_the_whitened_objective_on_the_whitened_activity() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=23), rng.normal(size=23)
    y[2:] += 0.8 * x[:-2]
    test = lag_test(x, y, 2, sign=1)
    assert test is not None
    fit = sm.OLS(y[2:], sm.add_constant(x[:-2])).fit()
    assert test.r == pytest.approx(stats.pearsonr(x[:-2], y[2:]).statistic, abs=1e-12)
    assert test.effect == pytest.approx(fit.params[1], abs=1e-12)
    # One degree of freedom more is spent than in a plain regression: the detrending.
    n = 21
    se = fit.bse[1] * np.sqrt((n - 2) / (n - 3))
    half = stats.t.ppf(0.975, n - 3) * se
    assert (test.ci_low, test.ci_high) == pytest.approx(
        (fit.params[1] - half, fit.params[1] + half)
    )
    assert test.p_two_sided == pytest.approx(2 * stats.t.sf(abs(fit.params[1] / se), n - 3))
    assert test.p_value == pytest.approx(test.p_two_sided / 2)  # effect in the intended sign


def test_benjamini_hochberg_matches_statsmodels() -> None:
    p = np.random.default_rng(2).uniform(size=40) ** 3
    assert benjamini_hochberg(p.tolist()) == pytest.approx(multipletests(p, method="fdr_bh")[1])


def test_pairs_sharing_only_a_linear_trend_are_no_evidence_though_their_levels_correlate() -> None:
    rng = np.random.default_rng(3)
    steps = np.arange(24)
    activity = 10 + 0.8 * steps + rng.normal(0, 1, 24)
    objective = 2 + 0.05 * steps + rng.normal(0, 0.06, 24)
    assert stats.pearsonr(activity, objective).pvalue < 1e-6  # the old, wrong reading
    (pair,) = judge_plan(
        plan_for({"contacts": INCREASE}),
        {"contacts": weekly("contacts", activity), "kpi": weekly("kpi", objective)},
        max_lag=4,
    )
    assert pair.verdict is Verdict.NO_EVIDENCE


@pytest.mark.parametrize("lag", [0, 1, 2, 3])
def test_a_true_lead_is_found_at_its_lag(lag: int) -> None:
    rng = np.random.default_rng(100 + lag)
    found = right = 0
    for _ in range(40):
        kind = NULL_KINDS[int(rng.integers(len(NULL_KINDS)))]
        activity = null_series(kind, 24, rng)
        noise = null_series("white", 24, rng)
        series = {
            "leads": weekly("leads", activity),
            "noise": weekly("noise", noise),
            "kpi": weekly("kpi", lead(activity, lag, 2.0, rng)),
        }
        verdicts = judge_plan(plan_for({"leads": INCREASE, "noise": INCREASE}), series, max_lag=4)
        true_pair = verdicts[0]
        if true_pair.verdict is Verdict.MOVES_OBJECTIVE:
            found += 1
            right += true_pair.lag == lag
            assert true_pair.best is not None and true_pair.best.ci_low > 0
    assert found >= 32  # 80% of 40
    assert right >= 0.9 * found


def test_false_discoveries_over_null_plans_stay_at_the_nominal_rate() -> None:
    rng = np.random.default_rng(2024)
    plans = false_pairs = pairs = 0
    for _ in range(300):
        n = int(rng.integers(20, 27))
        activities = {f"a{i}": INCREASE for i in range(int(rng.integers(2, 6)))}
        kinds = rng.choice(NULL_KINDS, size=len(activities) + 1)
        series = {
            metric: weekly(metric, null_series(str(kind), n, rng))
            for metric, kind in zip([*activities, "kpi"], kinds, strict=True)
        }
        verdicts = judge_plan(plan_for(activities), series, max_lag=4)
        false = sum(v.verdict is Verdict.MOVES_OBJECTIVE for v in verdicts)
        plans += false > 0
        false_pairs += false
        pairs += len(verdicts)
    # All hypotheses null: BH at 5% bounds the chance of any false discovery per plan by 5%;
    # 300 plans leave a standard error of about 1.3 points.
    assert plans / 300 <= 0.08
    assert false_pairs / pairs <= 0.05


def test_the_intended_direction_decides_the_sign() -> None:
    rng = np.random.default_rng(8)
    activity = null_series("white", 24, rng)
    fewer_calls_more_deals = lead(activity, 1, 3.0, rng, sign=-1)
    series = {"calls": weekly("calls", activity), "kpi": weekly("kpi", fewer_calls_more_deals)}
    (intended,) = judge_plan(plan_for({"calls": ActivityDirection.DECREASE}), series, max_lag=4)
    assert intended.verdict is Verdict.MOVES_OBJECTIVE and intended.lag == 1
    assert intended.intended_sign == -1
    (against,) = judge_plan(plan_for({"calls": INCREASE}), series, max_lag=4)
    assert against.verdict is Verdict.NO_EVIDENCE
    assert against.opposite_direction
    # An objective to bring down flips the intention again.
    down = plan_for({"calls": INCREASE}, direction=Direction.DOWN)
    (lowering,) = judge_plan(down, series, max_lag=4)
    assert lowering.verdict is Verdict.MOVES_OBJECTIVE


def test_too_few_points_and_constant_series_are_insufficient_evidence() -> None:
    rng = np.random.default_rng(4)
    short = {"a": weekly("a", rng.normal(size=9)), "kpi": weekly("kpi", rng.normal(size=9))}
    (pair,) = judge_plan(plan_for({"a": INCREASE}), short, max_lag=4)
    assert (pair.verdict, pair.reason, pair.points) == (
        Verdict.INSUFFICIENT_EVIDENCE,
        VerdictGap.TOO_FEW_POINTS,
        9,
    )
    assert pair.lag is None and pair.tests == ()
    flat = {"a": weekly("a", [3.0] * 20), "kpi": weekly("kpi", rng.normal(size=20))}
    (pair,) = judge_plan(plan_for({"a": INCREASE}), flat, max_lag=4)
    assert pair.reason is VerdictGap.CONSTANT_SERIES
    missing = {"kpi": weekly("kpi", rng.normal(size=20))}
    (pair,) = judge_plan(plan_for({"a": INCREASE}), missing, max_lag=4)
    assert (pair.reason, pair.points) == (VerdictGap.TOO_FEW_POINTS, 0)


def test_long_lags_need_the_minimum_of_points_after_whitening() -> None:
    rng = np.random.default_rng(6)
    series = {"a": weekly("a", rng.normal(size=12)), "kpi": weekly("kpi", rng.normal(size=12))}
    (pair,) = judge_plan(plan_for({"a": INCREASE}), series, max_lag=4, min_points=10)
    # 12 points whiten to 11; lags 0..2 keep at least 9 pairs (min_points - 1), 3 and 4 do not.
    assert [t.lag for t in pair.tests] == [0, 1, 2]
    (none_left,) = judge_plan(plan_for({"a": INCREASE}), series, max_lag=4, min_points=13)
    assert none_left.reason is VerdictGap.TOO_FEW_POINTS


def test_interior_gaps_of_a_level_are_interpolated_and_not_counted_as_points() -> None:
    rng = np.random.default_rng(9)
    activity = rng.normal(size=20)
    kpi: list[float | None] = [float(v) for v in rng.normal(size=20)]
    kpi[0] = kpi[5] = kpi[6] = None
    (pair,) = judge_plan(
        plan_for({"a": INCREASE}),
        {"a": weekly("a", activity), "kpi": weekly("kpi", kpi)},
        max_lag=0,
    )
    assert pair.points == 17
    assert pair.tests[0].n == 18  # 19 aligned periods from the first shared one, whitened
