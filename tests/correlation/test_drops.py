"""The drop test's statistic against statsmodels' Poisson GLM, and its size on exact Poisson
probabilities: the thresholds mean what their normal quantiles say."""

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special, stats

from services.correlation.drops import likelihood_ratio_z


@pytest.mark.parametrize(
    ("total", "periods", "baseline_total", "baseline_periods", "phi"),
    [(60, 1, 1200, 12, 1.0), (150, 3, 410, 8, 2.5), (0, 2, 45, 6, 1.0), (70, 2, 600, 12, 1.7)],
)
def test_is_the_signed_root_of_the_quasi_poisson_deviance(
    total: int, periods: int, baseline_total: int, baseline_periods: int, phi: float
) -> None:
    # One rate for both segments (the null model) against one each: the deviance of the null
    # model with each segment's length as exposure, over the dispersion.
    null = sm.GLM(
        np.array([total, baseline_total]),
        np.ones((2, 1)),
        family=sm.families.Poisson(),
        exposure=np.array([periods, baseline_periods]),
    ).fit()
    z = likelihood_ratio_z(total, periods, baseline_total / baseline_periods, phi, baseline_periods)
    assert abs(z) == pytest.approx(math.sqrt(null.deviance / phi), rel=1e-6)
    assert z < 0  # each case is a drop


def test_a_rise_is_positive_and_equal_rates_are_zero() -> None:
    assert likelihood_ratio_z(130, 1, 100.0, 1.0, 12) > 0
    assert likelihood_ratio_z(200, 2, 100.0, 1.0, 12) == pytest.approx(0.0, abs=1e-9)


def _size(mean: float, periods: int, baseline_periods: int, threshold: float) -> float:
    """P(z <= -threshold) for Poisson counts of ``mean`` a period without a drop, summed
    exactly over the recent and baseline totals within eight standard deviations."""

    def support(rate: float) -> np.ndarray:
        spread = 8 * math.sqrt(rate)
        return np.arange(max(0, math.floor(rate - spread)), math.ceil(rate + spread) + 1)

    recent, baseline = support(mean * periods), support(mean * baseline_periods)
    p_recent = stats.poisson.pmf(recent, mean * periods)
    p_baseline = stats.poisson.pmf(baseline, mean * baseline_periods)
    size = 0.0
    for total, p in zip(recent, p_recent, strict=True):
        low = [
            likelihood_ratio_z(total, periods, b / baseline_periods, 1.0, baseline_periods)
            <= -threshold
            for b in baseline
        ]
        size += p * float(p_baseline[np.array(low)].sum())
    return size


@pytest.mark.parametrize(
    ("mean", "periods", "baseline_periods", "threshold"),
    [(100, 1, 12, 3.5), (30, 1, 12, 3.5), (100, 2, 12, 3.0), (20, 3, 10, 3.0)],
)
def test_false_alarm_rate_of_one_split_is_its_nominal_level(
    mean: float, periods: int, baseline_periods: int, threshold: float
) -> None:
    # The Wald z of the same split is two to nine times under its level here: power thrown
    # away on a drop in the latest weeks.
    nominal = float(special.ndtr(-threshold))
    assert _size(mean, periods, baseline_periods, threshold) == pytest.approx(nominal, rel=0.2)
