"""Random-effects pooling against statsmodels, and cohort itineraries on generated accounts."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from services.correlation.cohorts import (
    dersimonian_laird,
    holm_adjusted,
    ideal_itinerary,
    pool_cohort,
)
from services.correlation.leadlag import LeadLag, Verdict, judge_plan
from services.correlation.plans import ActivityDirection, SuccessPlan
from tests.correlation.generated import lead, null_series, plan_for, weekly

INCREASE = ActivityDirection.INCREASE


@pytest.mark.parametrize("seed", range(5))
def test_dersimonian_laird_equals_statsmodels(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 12))
    variances = 1 / (rng.integers(8, 30, k) - 3)
    # Heterogeneous enough that the moment estimate of tau-squared is positive: statsmodels
    # does not truncate it at zero as DerSimonian and Laird (and metafor) do.
    effects = rng.normal(0.3, 0.5, k)
    pooled = dersimonian_laird(effects.tolist(), variances.tolist())
    reference = combine_effects(effects, variances, method_re="dl")
    assert reference.tau2 > 0
    low, high = reference.conf_int(use_t=False)[1]  # the random-effects row
    assert pooled.estimate == pytest.approx(reference.mean_effect_re, abs=1e-9)
    assert pooled.standard_error == pytest.approx(reference.sd_eff_w_re, abs=1e-9)
    assert pooled.tau_squared == pytest.approx(reference.tau2, abs=1e-9)
    assert pooled.i_squared == pytest.approx(reference.i2, abs=1e-9)
    assert pooled.q_statistic == pytest.approx(reference.q, abs=1e-9)
    assert (pooled.ci_low, pooled.ci_high) == pytest.approx((low, high), abs=1e-9)
    # Higgins-Thompson-Spiegelhalter prediction interval: t with k - 2 degrees of freedom.
    half = stats.t.ppf(0.975, k - 2) * math.sqrt(reference.tau2 + reference.sd_eff_w_re**2)
    assert (pooled.prediction_low, pooled.prediction_high) == pytest.approx(
        (reference.mean_effect_re - half, reference.mean_effect_re + half), abs=1e-9
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels: sqrt of its negative tau2
def test_a_negative_moment_estimate_is_truncated_to_the_fixed_effect_pool() -> None:
    effects, variances = [0.30, 0.31, 0.29, 0.30], [0.05, 0.04, 0.06, 0.05]
    reference = combine_effects(np.array(effects), np.array(variances), method_re="dl")
    assert reference.tau2 < 0  # statsmodels keeps the negative estimate
    pooled = dersimonian_laird(effects, variances)
    assert pooled.tau_squared == 0 and pooled.i_squared == 0
    assert pooled.estimate == pytest.approx(reference.mean_effect_fe, abs=1e-12)
    assert pooled.standard_error == pytest.approx(reference.sd_eff_w_fe, abs=1e-12)


def test_homogeneous_studies_have_no_between_account_variance() -> None:
    pooled = dersimonian_laird([0.4, 0.4, 0.4], [0.1, 0.05, 0.2])
    assert pooled.tau_squared == 0 and pooled.i_squared == 0
    assert pooled.estimate == pytest.approx(0.4)
    with pytest.raises(ValueError):
        dersimonian_laird([], [])
    assert dersimonian_laird([0.1, 0.2], [0.1, 0.1]).prediction_low is None  # k < 3


def _cohort(
    seed: int, accounts: int = 8
) -> tuple[dict[str, tuple[LeadLag, ...]], list[SuccessPlan], list[str]]:
    """Accounts where ``contacts`` leads the KPI by one period; ``logins`` and ``emails`` are
    noise (one of them trending with the KPI)."""
    rng = np.random.default_rng(seed)
    verdicts = {}
    plans = []
    reached = []
    for i in range(accounts):
        n = int(rng.integers(20, 27))
        contacts = null_series("white", n, rng)
        kpi = lead(contacts, 1, float(rng.uniform(0.6, 1.5)), rng) + 0.3 * np.arange(n)
        logins = null_series("trend", n, rng) + 0.5 * np.arange(n)
        emails = null_series("random_walk", n, rng)
        account = f"acct-{i}"
        plan = plan_for(
            {"contacts": INCREASE, "logins": INCREASE, "emails": INCREASE},
            account_id=account,
            targets={"contacts": 20 + i, "logins": 5, "emails": 7},
        )
        series = {
            "contacts": weekly("contacts", contacts),
            "logins": weekly("logins", logins),
            "emails": weekly("emails", emails),
            "kpi": weekly("kpi", kpi),
        }
        verdicts[account] = judge_plan(plan, series, max_lag=4)
        plans.append(plan)
        if i % 2 == 0:
            reached.append(account)
    return verdicts, plans, reached


@pytest.mark.parametrize("seed", range(6))
def test_the_itinerary_ranks_the_leading_activity_and_never_a_noise_activity(seed: int) -> None:
    verdicts, plans, reached = _cohort(seed)
    pooled = pool_cohort(verdicts)
    steps = ideal_itinerary(pooled, plans, reached)
    assert [step.activity_metric for step in steps] == ["contacts"]
    (step,) = steps
    assert step.effect.lag == 1 and step.effect.verdict is Verdict.MOVES_OBJECTIVE
    assert step.effect.ci_low > 0 and step.effect.lags_tried == 5
    assert step.typical_target == pytest.approx(23.5)  # median of 20..27
    assert step.reached_target == pytest.approx(23)  # median of 20, 22, 24, 26
    assert (step.plans, step.reached_plans) == (8, 4)
    noise = {e.activity_metric: e for e in pooled if e.activity_metric != "contacts"}
    assert all(e.verdict is Verdict.NO_EVIDENCE for e in noise.values())


def test_cohorts_pool_each_lag_over_accounts_with_evidence_and_correct_for_the_choice() -> None:
    verdicts, _, _ = _cohort(42, accounts=4)
    pooled = {e.activity_metric: e for e in pool_cohort(verdicts)}
    contacts = pooled["contacts"]
    samples = [
        (test.r, test.n)
        for account in verdicts.values()
        for pair in account
        if pair.activity_metric == "contacts"
        for test in pair.tests
        if test.lag == contacts.lag
    ]
    reference = combine_effects(
        np.arctanh([r for r, _ in samples]),
        np.array([1 / (n - 3) for _, n in samples]),
        method_re="dl",
    )
    assert math.atanh(contacts.r) == pytest.approx(reference.mean_effect_re, abs=1e-9)
    z = reference.mean_effect_re / reference.sd_eff_w_re
    assert contacts.p_value == pytest.approx(min(1.0, stats.norm.sf(z) * 5), abs=1e-12)
    assert contacts.accounts == 4 and contacts.n == sum(n for _, n in samples)
    # Fewer accounts than the minimum pool nothing.
    assert pool_cohort(verdicts, min_accounts=5) == ()


def test_holm_adjustment_matches_statsmodels() -> None:
    p = np.random.default_rng(1).uniform(size=12) ** 2
    assert holm_adjusted(p.tolist()) == pytest.approx(multipletests(p, method="holm")[1])
