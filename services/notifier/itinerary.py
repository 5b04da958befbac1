"""The customer's itinerary: which activity of the success plan to push at the next junction.

An activity is worth pushing when it is far from its target *and* moves with performance, so
items are ranked by the share of the gap still to close times the absolute correlation |r|.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    """Whether an activity's target is reached by going up (more campaigns) or down (fewer)."""

    INCREASE = "increase"
    DECREASE = "decrease"


@dataclass(frozen=True)
class ItineraryItem:
    """One activity of a success plan: its target, current value and correlation r."""

    activity: str
    target: float
    actual: float
    correlation: float
    direction: Direction = Direction.INCREASE


def gap_share(item: ItineraryItem) -> float:
    """The share of the way still to go, in [0, 1] for non-negative values; 0 once reached.

    For an increase it is ``(target - actual) / target``; for a decrease ``(actual - target) /
    actual``, which stays defined for "stop doing X" activities whose target is 0.
    """
    shortfall = item.target - item.actual
    if item.direction is Direction.DECREASE:
        shortfall = -shortfall
    scale = max(abs(item.target), abs(item.actual))
    if shortfall <= 0 or scale == 0:
        return 0.0
    return shortfall / scale


def step_score(item: ItineraryItem) -> float:
    """How much closing this activity's gap should move performance: gap share x |r|."""
    return gap_share(item) * abs(item.correlation)


def next_step(itinerary: Sequence[ItineraryItem]) -> ItineraryItem | None:
    """The activity to push next: highest ``step_score``, ties by name; None if none scores."""
    scored = [item for item in itinerary if step_score(item) > 0]
    if not scored:
        return None
    return min(scored, key=lambda item: (-step_score(item), item.activity))
