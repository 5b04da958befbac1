"""Sustained, noise-aware usage drops: a change-point test on an account's weekly counts.

A trailing mean absorbs a drop that lasts (after four low weeks the "normal" is the drop), and a
fixed share ignores volume: 30% below normal is noise for 15 events a week and a collapse for
1,500. So the usage series is scanned for the most likely point where a lasting drop began:

- for every split with at least ``min_baseline`` periods before it and ``min_periods`` after
  it (one low week, a holiday, is not a lasting drop), the *recent* segment runs from the split
  to the last complete period and the *baseline* is up to ``baseline_periods`` periods before
  the split (so the drop never dilutes its own baseline);
- counts are over-dispersed Poisson: the variance is ``phi * mean`` with ``phi`` the
  variance-to-mean ratio pooled over both segments, never below 1 (Poisson). Where it is above
  1 it is an estimate, so the threshold is the t quantile of the same tail rather than the
  normal one. The recent total S over m periods is compared
  with m times the baseline mean mu estimated from n periods: z = (S - m mu) / sqrt(phi mu m (1 +
  m / n)), which also counts the baseline's own uncertainty;
- a drop is raised when, for some split, z <= -``z_threshold``, the recent mean is at least
  ``min_drop_share`` below the baseline, m mu (the expected recent count) is at least
  ``min_expected`` so that very small accounts do not raise on a handful of events, and the
  recent segment without its lowest period still lies ``z_robust`` below the baseline: a drop
  does not rest on one period (a holiday week followed by a normal one).

While a drop is open it resolves only when the last ``recovery_periods`` periods are back to
what the baseline before the change point predicts, by the same standard (z > -``z_recover``);
the hysteresis keeps a recovering account from flapping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special


@dataclass(frozen=True)
class DropRule:
    """The drop test's thresholds; the service settings fill it."""

    min_baseline: int = 6
    min_periods: int = 2
    baseline_periods: int = 12
    z_threshold: float = 3.0
    z_recover: float = 1.0
    z_robust: float = 2.0
    min_drop_share: float = 0.25
    min_expected: float = 10.0
    recovery_periods: int = 2


@dataclass(frozen=True)
class DropTest:
    """The strongest lasting drop found in a series of counts (positions into it)."""

    start: int
    baseline_start: int
    baseline_mean: float
    dispersion: float
    recent_mean: float
    expected: float
    z: float
    periods: int
    z_without_lowest: float

    @property
    def share(self) -> float:
        """How far below the baseline the recent mean is (0.4 = 40% below)."""
        return 1 - self.recent_mean / self.baseline_mean if self.baseline_mean else 0.0


def z_score(recent: Sequence[float], baseline: Sequence[float]) -> tuple[float, float, float]:
    """(z, baseline mean, dispersion) of the recent total against the baseline's prediction.

    The dispersion (variance over mean) is pooled from both segments around their own means,
    so a short baseline does not leave it to a handful of periods; it is never below 1.
    """
    n, m = len(baseline), len(recent)
    mean = sum(baseline) / n
    if mean <= 0:
        return 0.0, mean, 1.0
    recent_mean = sum(recent) / m
    scaled = sum((value - mean) ** 2 for value in baseline) / mean
    if recent_mean > 0:
        scaled += sum((value - recent_mean) ** 2 for value in recent) / recent_mean
    dispersion = max(1.0, scaled / (n + m - 2)) if n + m > 2 else 1.0
    spread = math.sqrt(dispersion * mean * m * (1 + m / n))
    return (sum(recent) - m * mean) / spread, mean, dispersion


def strongest_drop(counts: Sequence[float], rule: DropRule) -> DropTest | None:
    """The split whose recent segment lies furthest below its baseline (lowest z), or None
    when the series is too short to have a baseline."""
    best: DropTest | None = None
    for start in range(rule.min_baseline, len(counts) - rule.min_periods + 1):
        baseline_start = max(0, start - rule.baseline_periods)
        baseline, recent = counts[baseline_start:start], counts[start:]
        z, mean, dispersion = z_score(recent, baseline)
        rest = sorted(recent)[1:]
        z_rest = z_score(rest, baseline)[0] if rest else 0.0
        test = DropTest(
            start=start,
            baseline_start=baseline_start,
            baseline_mean=mean,
            dispersion=dispersion,
            recent_mean=sum(recent) / len(recent),
            expected=mean * len(recent),
            z=z,
            periods=len(counts) - baseline_start,
            z_without_lowest=z_rest,
        )
        if best is None or test.z < best.z:
            best = test
    return best


def critical_z(rule: DropRule, periods: int, dispersion: float = 2.0) -> float:
    """The threshold for a test on ``periods`` periods. Where the counts are no more variable
    than Poisson (``dispersion`` at its floor of 1) the variance follows from the mean and the
    normal threshold holds; where the dispersion was estimated (two means estimated) the
    threshold moves to the t quantile of the same tail."""
    if dispersion <= 1.0:
        return rule.z_threshold
    tail = float(special.ndtr(-rule.z_threshold))
    return float(-special.stdtrit(max(1, periods - 2), tail))


def is_drop(test: DropTest, rule: DropRule) -> bool:
    """Whether a test shows a lasting drop beyond what the account's noise explains."""
    return (
        test.z <= -critical_z(rule, test.periods, test.dispersion)
        and test.z_without_lowest <= -rule.z_robust
        and test.share >= rule.min_drop_share
        and test.expected >= rule.min_expected
    )


def has_recovered(
    counts: Sequence[float], baseline_mean: float, dispersion: float, rule: DropRule
) -> bool:
    """Whether the last ``recovery_periods`` counts are back within noise of the raised-against
    baseline (its mean and dispersion as stored when the drop was raised)."""
    recent = counts[-rule.recovery_periods :]
    if len(recent) < rule.recovery_periods or baseline_mean <= 0:
        return False
    m = len(recent)
    spread = math.sqrt(max(1.0, dispersion) * baseline_mean * m)
    return (sum(recent) - m * baseline_mean) / spread > -rule.z_recover
