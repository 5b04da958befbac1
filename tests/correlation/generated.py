"""Seeded generators of weekly series with known truth, for the lead/lag and cohort tests.

Each null kind has no link between activity and objective; ``lead`` makes the objective follow
the activity ``lag`` periods later with a chosen signal-to-noise ratio (the standard deviation
of the signal over that of the noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np

from services.correlation.buckets import PeriodUnit, shift_period
from services.correlation.plans import (
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
    Direction,
    Objective,
    SuccessPlan,
)
from services.correlation.series import Series

NULL_KINDS = ("white", "trend", "random_walk", "ar1")


def weekly(metric: str, values: np.ndarray | list[float | None]) -> Series:
    """``values`` as consecutive ISO weeks from 2024-W01."""
    keys = tuple(shift_period("2024-W01", i) for i in range(len(values)))
    return Series(
        metric, PeriodUnit.WEEK, keys, tuple(None if v is None else float(v) for v in values)
    )


def null_series(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """A series of ``n`` points of one null kind, around a positive level."""
    noise = rng.normal(0, 1, n) * rng.uniform(0.5, 3)
    if kind == "white":
        return 20 + noise
    if kind == "trend":
        slope = float(rng.uniform(0.2, 1.0)) * float(rng.choice([-1, 1]))
        return 20 + slope * np.arange(n) + noise
    if kind == "random_walk":
        return 20 + np.cumsum(noise)
    phi = rng.uniform(0.3, 0.8)
    values = np.zeros(n)
    for t in range(1, n):
        values[t] = phi * values[t - 1] + noise[t]
    return 20 + values


def lead(
    activity: np.ndarray, lag: int, snr: float, rng: np.random.Generator, sign: int = 1
) -> np.ndarray:
    """An objective that follows ``activity`` ``lag`` periods later, plus white noise.

    The signal-to-noise ratio is measured on the activity's week-to-week innovations (its
    detrended first differences over the square root of two, the standard deviation of white
    noise), not on its levels: a trend or a wandering level carries no evidence of a link, so
    scaling by it would hide how little signal is left.
    """
    centred = activity - activity.mean()
    signal = np.zeros_like(activity)
    signal[lag:] = centred[: activity.size - lag] if lag else centred
    steps = np.diff(activity)
    innovations = float(np.std(steps - steps.mean())) / np.sqrt(2)
    noise_sd = 1.0
    scale = snr * noise_sd / max(innovations, 1e-9)
    objective: np.ndarray = 50 + sign * scale * signal + rng.normal(0, noise_sd, activity.size)
    return objective


def plan_for(
    activities: Mapping[str, ActivityDirection],
    account_id: str = "acct",
    objective: str = "kpi",
    direction: Direction = Direction.UP,
    targets: Mapping[str, float] | None = None,
) -> SuccessPlan:
    """A plan with one objective and the given activities."""
    return SuccessPlan(
        id=f"plan-{account_id}",
        account_id=account_id,
        objectives=(
            Objective(
                metric=objective,
                baseline=0 if direction is Direction.UP else 100,
                target=100 if direction is Direction.UP else 0,
                direction=direction,
                deadline=date(2030, 1, 1),
            ),
        ),
        itinerary=tuple(
            ActivityTarget(
                metric=metric,
                category=ActivityCategory.PROCESS,
                target_per_period=(targets or {}).get(
                    metric, 0 if d is ActivityDirection.STOP else 10
                ),
                direction=d,
            )
            for metric, d in activities.items()
        ),
    )
