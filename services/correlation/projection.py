"""Where an objective is heading: a least-squares line through its series, read at the deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from services.correlation.buckets import period_key, periods_between
from services.correlation.plans import Objective
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series

DEFAULT_MIN_POINTS = 4


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


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(slope, intercept) of the ordinary least-squares line; needs two distinct xs."""
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


def project_objective(
    objective: Objective, series: Series, *, min_points: int = DEFAULT_MIN_POINTS
) -> Projection | InsufficientEvidence:
    """Extend the trend of ``series`` (the objective's metric) to the deadline's period."""
    known = list(series.present())
    if len(known) < max(min_points, 2):
        return InsufficientEvidence(
            EvidenceGap.TOO_FEW_POINTS, points=len(known), required=max(min_points, 2)
        )
    slope, intercept = fit_line([float(i) for i, _ in known], [value for _, value in known])
    deadline = datetime.combine(objective.deadline, time(), tzinfo=UTC)
    deadline_period = period_key(deadline, series.unit)
    deadline_position = periods_between(series.keys[0], deadline_period, series.unit)
    latest_position, latest_value = known[-1]
    projected = slope * deadline_position + intercept
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
    )
