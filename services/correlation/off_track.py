"""The activity-off-track rule: is an activity of the plan short of its commitment by more
than the tolerance, beyond what its own noise can explain?

Off track means the activity's level lies more than the tolerance below its target (above, for
one to decrease). So the rule tests the mean of a window of recent periods against that edge,
not against the target itself: an activity running at 90% of a target with a 20% tolerance is
on track however long its history, and a test against the target would end up "proving" its
10% shortfall and alarm. The noise is estimated from the activity's own periods and moderated
towards the Poisson model of a count; the plan's activities share the false-alarm rate of one
(Bonferroni). ``first_off_track`` dates a raise found in a replayed history to the period a
live judgement would have seen it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import special

from services.correlation.dispersion import fits_poisson
from services.correlation.plans import (
    ActivityDirection,
    ActivityTarget,
    Aggregation,
)
from services.correlation.risk import Decision, Raise, RiskThresholds, decide
from services.correlation.series import Series
from shared.signals import SignalType

DEFAULT_THRESHOLDS = RiskThresholds()


def _misses(activity: ActivityTarget, value: float, tolerance: float) -> bool:
    """Whether a value misses the commitment by more than the tolerance."""
    target = activity.target_per_period
    if activity.direction is ActivityDirection.INCREASE:
        return value < target * (1 - tolerance)
    if activity.direction is ActivityDirection.STOP:
        return value > 0
    return value > target * (1 + tolerance)


@dataclass(frozen=True)
class _Noise:
    """A standard deviation and its degrees of freedom (None: the model's floor, not an
    estimate)."""

    sd: float
    freedom: int | None

    def critical(self, z: float, family: int = 1) -> float:
        """The threshold of the one-sided tail beyond ``z`` shared by ``family`` tests
        (Bonferroni): normal for a known sd, the t quantile for an estimated one."""
        tail = float(special.ndtr(-z)) / max(1, family)
        if self.freedom is None:
            return float(-special.ndtri(tail))
        return float(-special.stdtrit(self.freedom, tail))


PRIOR_NOISE_FREEDOM = 4
"""Weight, in degrees of freedom, of the noise model's spread in an activity's noise."""


def _noise(
    activity: ActivityTarget, level: float, earlier: Sequence[float], recent: Sequence[float]
) -> _Noise:
    """The activity's period-to-period noise, moderated as limma moderates variances: the
    spread pooled from the earlier periods and the recent ones (each around its own mean, so a
    recent shift does not count as noise) is combined with the noise model's spread, weighted
    as ``PRIOR_NOISE_FREEDOM`` degrees of freedom, and the threshold is the t quantile of the
    degrees of freedom of both. So a few similar values do not pass for a quiet activity, while
    a long history of its own speaks for itself. The model's spread is the Poisson noise of
    ``level``, the level tested (sqrt(level)), for counts and sums, 5% of it for levels; whole
    counts never get less than the Poisson noise, and get exactly it (known noise, the normal
    quantile) where Pearson's dispersion test finds them no more variable than Poisson."""
    squares, pearson, freedom = 0.0, 0.0, 0
    for values in (earlier, recent):
        if len(values) > 1:
            mean = sum(values) / len(values)
            spread = sum((v - mean) ** 2 for v in values)
            squares += spread
            pearson += spread / max(mean, 1.0)
            freedom += len(values) - 1
    prior = 0.05 * abs(level)
    counts = activity.aggregation in (Aggregation.SUM, Aggregation.COUNT)
    poisson = math.sqrt(max(abs(level), 1.0))
    if counts:
        prior = max(prior, poisson)
    prior = max(prior, 1e-9)
    variance = (squares + PRIOR_NOISE_FREEDOM * prior**2) / (freedom + PRIOR_NOISE_FREEDOM)
    whole = counts and all(float(v).is_integer() for v in (*earlier, *recent))
    if whole and (variance < poisson**2 or fits_poisson(pearson, freedom, POISSON_TEST_ALPHA)):
        # Whole counts of events vary at least as Poisson counts do (a spread below that is
        # luck, not a quiet activity), and where Pearson's test finds them no more variable,
        # the Poisson model is known noise, not an estimate to pay the t quantile for.
        return _Noise(poisson, None)
    return _Noise(math.sqrt(variance), freedom + PRIOR_NOISE_FREEDOM)


POISSON_TEST_ALPHA = 0.2
"""Level of Pearson's dispersion test below which counts are taken as over-dispersed. Higher
than the drop test's: with a handful of weeks per window the test has little power, and at 5%
mildly over-dispersed clean activities passed for Poisson and alarmed (simulated false alarms
on gamma-Poisson counts 10% short of target, inside the tolerance: 3.0% at 5%, 2.2% at 20%,
the same as with no test)."""


@dataclass(frozen=True)
class _Shortfall:
    """The recent window of periods that misses the target most clearly."""

    start: int
    mean: float
    z: float
    critical: float
    noise: _Noise


def tolerance_edge(activity: ActivityTarget, tolerance: float) -> float:
    """The level beyond which the activity misses its commitment by more than the tolerance."""
    factor = 1 - tolerance if activity.direction is ActivityDirection.INCREASE else 1 + tolerance
    return activity.target_per_period * factor


def _shortfall(
    activity: ActivityTarget, values: Sequence[float], thresholds: RiskThresholds, family: int
) -> _Shortfall | None:
    """The window of the last k periods (k from ``off_track_periods`` to all of them) whose mean
    lies beyond the tolerance's edge with the strongest evidence against the activity's noise,
    or None. Testing the mean of a window, rather than requiring every period to miss, keeps
    one lucky period from hiding a shortfall that lasts."""
    tolerance = thresholds.off_track_tolerance
    edge = tolerance_edge(activity, tolerance)
    best: _Shortfall | None = None
    for k in range(thresholds.off_track_periods, len(values) + 1):
        window, earlier = values[-k:], values[:-k]
        mean = sum(window) / k
        if not _misses(activity, mean, tolerance):
            continue
        noise = _noise(activity, edge, earlier, window)
        z = (mean - edge) / (noise.sd / math.sqrt(k))
        if activity.direction is not ActivityDirection.INCREASE:
            z = -z
        critical = noise.critical(thresholds.off_track_z, family)
        test = _Shortfall(len(values) - k, mean, z, critical, noise)
        if best is None or test.z + test.critical < best.z + best.critical:
            best = test
    return best


def activity_off_track(
    activity: ActivityTarget,
    series: Series,
    *,
    is_open: bool,
    thresholds: RiskThresholds = DEFAULT_THRESHOLDS,
    family: int = 1,
) -> Decision:
    """Raised when the activity misses its target now and has missed it for a while: the mean of
    the last ``off_track_periods`` periods misses the target by more than half the tolerance
    (one lucky week does not hide a shortfall that lasts, and the raise is not one the resolve
    rule below undoes at once), and the mean of the last k periods (at least ``off_track_periods``)
    lies beyond the tolerance's edge (``off_track_tolerance`` below the target, or above it for
    an activity to decrease) by more than the activity's own noise explains (z beyond
    ``off_track_z``, the t quantile where the noise is estimated). ``family`` is how many
    activities of the plan are judged together: they share the false-alarm rate of one
    (Bonferroni), so a plan with more steps does not alarm more often. A stopped activity is off
    track once it was done in each of the last ``off_track_periods`` periods.

    Resolved by the same standard: once the mean of the last ``off_track_periods`` periods is
    back within half the tolerance of the target (the hysteresis keeps an activity hovering at
    the tolerance from flapping); a stopped activity once a period is at zero again. Decided
    afresh from the current series on every evaluation, so an open signal always carries
    today's reading of the stored periods. A level nobody reported in the last
    ``off_track_periods`` periods decides nothing; one reported in them stands for the
    latest.
    """
    needed = thresholds.off_track_periods
    tolerance = thresholds.off_track_tolerance
    known = [(k, v) for k, v in zip(series.keys, series.values, strict=True) if v is not None]
    values = [v for _, v in known]
    # A level reported in one of the last ``needed`` periods still describes the activity (a
    # week nobody reported is not a week on track); one reported before that decides nothing.
    latest_key, latest = (
        known[-1] if known and known[-1][0] in series.keys[-needed:] else (None, None)
    )
    test = _shortfall(activity, values, thresholds, family) if latest is not None else None
    shown = max(needed, len(values) - test.start) if test else needed
    periods = dict(known[-shown:])
    # ``activity``, ``target``, ``actual`` and ``unit`` are the contract the notifier words its
    # recommendation from (shared/signals.py); the rest explains the decision.
    evidence: dict[str, Any] = {
        "activity": activity.metric,
        "title": activity.title,
        "target": activity.target_per_period,
        "actual": latest,
        "unit": None,
        "period": latest_key or (series.keys[-1] if series.keys else None),
        "metric": activity.metric,
        "direction": activity.direction.value,
        "target_per_period": activity.target_per_period,
        "consecutive_periods_threshold": needed,
        "tolerance": tolerance,
        "tolerance_edge": tolerance_edge(activity, tolerance),
        "periods": periods,
    }
    if test is not None:
        evidence.update(
            z=test.z, noise_sd=test.noise.sd, z_threshold=test.critical, run_mean=test.mean
        )
    recent = values[-needed:]
    active: bool | None = None  # None: the data cannot say, the signal stays as it is
    if latest is None or len(values) < thresholds.min_history:
        pass
    elif activity.direction is ActivityDirection.STOP:
        if latest == 0:
            active = False
        elif len(recent) == needed and all(_misses(activity, v, 0.0) for v in recent):
            active = True
    elif is_open:
        if not _misses(activity, sum(recent) / len(recent), tolerance / 2):
            active = False
    elif (
        # The recent mean must be where an open signal would stay open: no raise that the next
        # judgement resolves.
        _misses(activity, sum(recent) / len(recent), tolerance / 2)
        and test is not None
        and test.z <= -test.critical
    ):
        active = True
    return decide(SignalType.ACTIVITY_OFF_TRACK, activity.metric, is_open, active, evidence)


def first_off_track(
    activity: ActivityTarget, series: Series, thresholds: RiskThresholds, family: int
) -> int | None:
    """The shortest prefix (its length) of ``series`` on which the activity is off track: when
    an off-track activity found in a history replayed at once became so in event time."""
    for end in range(thresholds.min_history, len(series.keys) + 1):
        prefix = Series(series.metric, series.unit, series.keys[:end], series.values[:end])
        decision = activity_off_track(
            activity, prefix, is_open=False, thresholds=thresholds, family=family
        )
        if isinstance(decision, Raise):
            return end
    return None
