"""The customer's itinerary: which activity of the success plan to push at the next junction.

An activity is worth pushing when it is far from its target *and* the correlation service's
lead/lag analysis found that it moves the objective (verdict ``moves_objective``), so items are
ranked by the share of the gap still to close times that effect (a pre-whitened correlation in
the plan's intended direction). Activities without such a verdict are never pushed as "the next
junction": a raw coefficient is not evidence.
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
    """One activity of a success plan: its target, current value and evidenced effect.

    ``effect`` is the pre-whitened correlation with ``objective`` at ``lag`` periods, positive
    in the intended direction.
    """

    activity: str
    target: float
    actual: float
    effect: float
    direction: Direction = Direction.INCREASE
    objective: str | None = None
    lag: int | None = None
    title: str | None = None


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
    """How much closing this activity's gap should move performance: gap share x effect."""
    return gap_share(item) * max(0.0, item.effect)


def next_step(itinerary: Sequence[ItineraryItem]) -> ItineraryItem | None:
    """The activity to push next: highest ``step_score``, ties by name; None if none scores."""
    scored = [item for item in itinerary if step_score(item) > 0]
    if not scored:
        return None
    return min(scored, key=lambda item: (-step_score(item), item.activity))
