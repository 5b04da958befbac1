"""Sustained, noise-aware usage drops: a change-point test on an account's period counts.

A trailing mean absorbs a drop that lasts (after four low weeks the "normal" is the drop), and a
fixed share ignores volume: 30% below normal is noise for 15 events a week and a collapse for
1,500. So the usage series is scanned for the point where a drop began:

- for every split with at least ``min_baseline`` periods before it, the *recent* segment runs
  from the split to the last complete period and the *baseline* is up to ``baseline_periods``
  periods before the split, so the drop never dilutes its own baseline;
- counts are over-dispersed Poisson: the variance is ``phi * mean``, with ``phi`` the
  variance-to-mean ratio pooled over the recent segment, the baseline and the periods before
  the baseline (each around its own mean, so a level that moved between them does not count as
  noise), never below 1 (Poisson). One period of the baseline, or of the periods before it, far
  outside the rest (a holiday, an outage) is left out of ``phi`` when it lies beyond 3 standard
  deviations of the others, so a past holiday does not hide a drop. Where the counts are
  over-dispersed (Pearson's dispersion test rejects Poisson) the test leans on ``phi``, an
  estimate, so the threshold moves to the t quantile of the same tail: the older periods are
  there to give that estimate its degrees of freedom, which at these tails is most of a test's
  power;
- the recent total S over m periods is compared with the baseline total B over n periods by
  the likelihood-ratio test of two Poisson rates, scaled by the dispersion (quasi-Poisson, as a
  GLM would test it): z is the signed root of the deviance over ``phi``, negative for a drop.
  Both rates are estimated, so the baseline's own uncertainty counts, and the signed root stays
  close to normal in the lower tail, where a Wald z = (S - m B / n) / sd, read against normal
  quantiles, is two to nine times too cautious for Poisson counts: a 40% drop in the latest of
  100-a-week weeks reads about -4.2 against a baseline of 12 weeks, where the Wald z read -3.8;
- a drop is raised when, for some split, z reaches ``-z_threshold`` (``-z_single`` when only the
  latest period is below: one period needs stronger evidence than a run), the recent mean is at
  least ``min_drop_share`` below the baseline, the baseline predicts at least ``min_expected``
  events for the recent segment (a handful of events proves nothing), and a run of two or more
  periods still lies ``z_robust`` below the baseline without its lowest period: a run does not
  rest on a single week (a holiday followed by a normal week).

While a drop is open it resolves only when the last ``recovery_periods`` periods are back to
what the baseline before the change point predicts, by the same standard (z > -``z_recover``);
the hysteresis keeps a recovering account from flapping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special

from services.correlation.dispersion import fits_poisson

OUTLIER_SD = 3.0
"""A baseline period this many standard deviations from the others is an outlier."""

POISSON_TEST_ALPHA = 0.05
"""Level of Pearson's dispersion test below which counts are taken as over-dispersed."""


@dataclass(frozen=True)
class DropRule:
    """The drop test's thresholds; the service settings fill it."""

    min_baseline: int = 6
    baseline_periods: int = 12
    z_threshold: float = 3.2
    z_single: float = 3.25
    z_recover: float = 1.0
    z_robust: float = 2.0
    min_drop_share: float = 0.25
    min_expected: float = 10.0
    recovery_periods: int = 2


@dataclass(frozen=True)
class DropTest:
    """One split of a series of counts tested as a drop (positions into the series)."""

    start: int
    baseline_start: int
    baseline_mean: float
    dispersion: float
    freedom: int
    recent_mean: float
    expected: float
    periods: int
    z: float
    z_without_lowest: float | None

    @property
    def share(self) -> float:
        """How far below the baseline the recent mean is (0.4 = 40% below)."""
        return 1 - self.recent_mean / self.baseline_mean if self.baseline_mean else 0.0


def _squares(values: Sequence[float], *, drop_outlier: bool) -> list[float]:
    """Squared deviations of ``values`` from their own mean, each over that mean (the
    variance-to-mean ratio's terms), without one outlying period where ``drop_outlier``; none
    for a segment too short to have a spread or without events."""
    mean = sum(values) / len(values) if values else 0.0
    if mean <= 0 or len(values) < 2:
        return []
    squares = [(value - mean) ** 2 / mean for value in values]
    if drop_outlier and len(squares) > 4:
        largest = max(squares)
        rest = (sum(squares) - largest) / (len(squares) - 2)
        if largest > OUTLIER_SD**2 * max(rest, 1.0):
            squares.remove(largest)
    return squares


def dispersion(
    baseline: Sequence[float], recent: Sequence[float], earlier: Sequence[float]
) -> tuple[float, int]:
    """(phi, degrees of freedom): the variance-to-mean ratio pooled from the baseline, the
    recent segment and the periods before the baseline, each around its own mean, without one
    outlying period of the baseline or of the periods before it, never below 1."""
    total, freedom = 0.0, 0
    for values, drop_outlier in ((baseline, True), (earlier, True), (recent, False)):
        squares = _squares(values, drop_outlier=drop_outlier)
        if squares:
            total += sum(squares)
            freedom += len(squares) - 1
    return (max(1.0, total / freedom) if freedom > 0 else 1.0), freedom


def likelihood_ratio_z(
    total: float, periods: int, mean: float, phi: float, baseline_periods: int
) -> float:
    """The signed root of the quasi-Poisson likelihood-ratio statistic comparing the rate of
    ``total`` over ``periods`` with the baseline's ``mean`` over ``baseline_periods``: negative
    for a drop, 0 without events. Both rates are estimated, so the baseline's own uncertainty
    counts. Its tail is close to the normal one where the thresholds sit, where a Wald z's is
    two to nine times thinner for Poisson counts (``tests/correlation/test_drops.py``)."""
    baseline_total = mean * baseline_periods
    pooled = (total + baseline_total) / (periods + baseline_periods)
    if pooled <= 0:
        return 0.0
    deviance = 0.0
    for observed, length in ((total, periods), (baseline_total, baseline_periods)):
        fitted = pooled * length
        deviance += 2 * (float(special.xlogy(observed, observed / fitted)) - (observed - fitted))
    root = math.sqrt(max(0.0, deviance) / phi)
    return -root if total < periods * mean else root


def drop_test(counts: Sequence[float], start: int, rule: DropRule) -> DropTest | None:
    """The drop test of the split at ``start`` (None when its baseline has no events)."""
    baseline_start = max(0, start - rule.baseline_periods)
    baseline, recent = counts[baseline_start:start], counts[start:]
    if not baseline or not recent:
        return None
    mean = sum(baseline) / len(baseline)
    if mean <= 0:
        return None
    phi, freedom = dispersion(baseline, recent, counts[:baseline_start])
    m, n = len(recent), len(baseline)
    rest = sorted(recent)[1:]
    return DropTest(
        start=start,
        baseline_start=baseline_start,
        baseline_mean=mean,
        dispersion=phi,
        freedom=freedom,
        recent_mean=sum(recent) / m,
        expected=mean * m,
        periods=m,
        z=likelihood_ratio_z(sum(recent), m, mean, phi, n),
        z_without_lowest=likelihood_ratio_z(sum(rest), len(rest), mean, phi, n) if rest else None,
    )


def is_poisson(test: DropTest) -> bool:
    """Whether the account's counts are consistent with Poisson noise: Pearson's dispersion
    test (the statistic ``phi * freedom`` against chi-square with ``freedom`` degrees of
    freedom) does not reject at ``POISSON_TEST_ALPHA``."""
    if test.dispersion <= 1.0:
        return True
    return fits_poisson(test.dispersion * test.freedom, test.freedom, POISSON_TEST_ALPHA)


def critical_z(z: float, test: DropTest) -> float:
    """The threshold of a one-sided tail of ``z`` for this test: normal where the counts are
    consistent with Poisson (``is_poisson``), the t quantile of the same tail where the data
    show over-dispersion and the test leans on its estimate. A dispersion a little above 1 is
    what Poisson counts show half the time; paying the t quantile's price for it lost one in
    seven of the one-week drops found on Poisson usage in simulation."""
    if is_poisson(test):
        return z
    tail = float(special.ndtr(-z))
    return float(-special.stdtrit(max(1, test.freedom), tail))


def is_drop(test: DropTest, rule: DropRule) -> bool:
    """Whether a split shows a drop beyond what the account's noise explains."""
    single = test.periods == 1
    needed = rule.z_single if single else rule.z_threshold
    return (
        test.z <= -critical_z(needed, test)
        and test.share >= rule.min_drop_share
        and test.expected >= rule.min_expected
        and (single or (test.z_without_lowest or 0.0) <= -rule.z_robust)
    )


def strongest_drop(counts: Sequence[float], rule: DropRule) -> DropTest | None:
    """The split that shows a drop with the lowest z, or, when none does, the split with the
    lowest z (its evidence); None when the series is too short to have a baseline."""
    tests = [
        test
        for start in range(rule.min_baseline, len(counts))
        if (test := drop_test(counts, start, rule)) is not None
    ]
    if not tests:
        return None
    drops = [test for test in tests if is_drop(test, rule)]
    return min(drops or tests, key=lambda test: test.z)


def first_detected(counts: Sequence[float], rule: DropRule) -> int | None:
    """The shortest prefix (its length) of ``counts`` in which a drop shows: when a drop found
    in a history replayed at once became true in event time."""
    for end in range(rule.min_baseline + 1, len(counts) + 1):
        test = strongest_drop(counts[:end], rule)
        if test is not None and is_drop(test, rule):
            return end
    return None


def has_recovered(
    counts: Sequence[float], baseline_mean: float, dispersion: float, rule: DropRule
) -> bool:
    """Whether the last ``recovery_periods`` counts are back within noise of the baseline the
    drop was found against."""
    recent = counts[-rule.recovery_periods :]
    if len(recent) < rule.recovery_periods or baseline_mean <= 0:
        return False
    m = len(recent)
    spread = math.sqrt(max(1.0, dispersion) * baseline_mean * m)
    return (sum(recent) - m * baseline_mean) / spread > -rule.z_recover
