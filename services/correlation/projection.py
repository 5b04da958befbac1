"""Where an objective is heading: a least-squares line through its series, read at the deadline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time

from scipy import special

from services.correlation.buckets import period_key, periods_between
from services.correlation.plans import Direction, Objective
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series

DEFAULT_MIN_POINTS = 4
DEFAULT_CONFIDENCE = 0.9


@dataclass(frozen=True)
class Projection:
    """An objective's linear trend and what it predicts for the deadline's period.

    ``slope`` is per period; ``periods_to_deadline`` counts from the latest known period and is
    negative once the deadline has passed. ``progress`` is the fraction of the way from baseline
    to target reached by the latest value (below 0 when moving backwards, above 1 past target).
    """

    objective_metric: str
    points: int
    slope: float
    latest_period: str
    latest_value: float
    deadline_period: str
    periods_to_deadline: int
    projected_value: float
    target: float
    meets_target: bool
    progress: float
    interval_low: float
    interval_high: float
    confidence: float
    upward: bool
    fitted_latest: float = 0.0
    """The trend line's value at the latest known period (where a drawn projection starts)."""

    @property
    def surely_misses_target(self) -> bool:
        """Even the favourable end of the prediction interval misses the target."""
        if self.upward:
            return self.interval_high < self.target
        return self.interval_low > self.target


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(slope, intercept) of the ordinary least-squares line; needs two distinct xs."""
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def project_objective(
    objective: Objective,
    series: Series,
    *,
    min_points: int = DEFAULT_MIN_POINTS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Projection | InsufficientEvidence:
    """Extend the trend of ``series`` (the objective's metric) to the deadline's period, with
    the ordinary least-squares prediction interval of a new value there (t, n - 2 df)."""
    known = list(series.present())
    required = max(min_points, 3)
    if len(known) < required:
        return InsufficientEvidence(
            EvidenceGap.TOO_FEW_POINTS, points=len(known), required=required
        )
    xs = [float(i) for i, _ in known]
    ys = [value for _, value in known]
    slope, intercept = fit_line(xs, ys)
    deadline = datetime.combine(objective.deadline, time(), tzinfo=UTC)
    deadline_period = period_key(deadline, series.unit)
    deadline_position = periods_between(series.keys[0], deadline_period, series.unit)
    latest_position, latest_value = known[-1]
    projected = slope * deadline_position + intercept
    n = len(known)
    mean_x = sum(xs) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    residual = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    sigma = math.sqrt(residual / (n - 2))
    standard_error = sigma * math.sqrt(1 + 1 / n + (deadline_position - mean_x) ** 2 / spread)
    half = float(special.stdtrit(n - 2, 0.5 + confidence / 2)) * standard_error
    return Projection(
        objective_metric=objective.metric,
        points=len(known),
        slope=slope,
        latest_period=series.keys[latest_position],
        latest_value=latest_value,
        deadline_period=deadline_period,
        periods_to_deadline=deadline_position - latest_position,
        projected_value=projected,
        target=objective.target,
        meets_target=objective.is_met_by(projected),
        progress=objective.progress(latest_value),
        interval_low=projected - half,
        interval_high=projected + half,
        confidence=confidence,
        upward=objective.direction is Direction.UP,
        fitted_latest=slope * latest_position + intercept,
    )
