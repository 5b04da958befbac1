"""Success plans: what the customer wants to reach (objectives) and what it commits to do.

An objective is a *performance* metric moving from a baseline to a target by a deadline; the
itinerary lists *activity* targets per period. Objectives and activities are identified by their
metric within a plan, and that metric is the subject of the signals raised about them.
The plan also names the adoption owner and the executive sponsor; ``Stakeholder`` is the snapshot
of one person the rules use to know who is still there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator


class Direction(StrEnum):
    """Which way an objective's metric should move."""

    UP = "up"
    DOWN = "down"


class ActivityDirection(StrEnum):
    """What the customer commits to do with an activity."""

    INCREASE = "increase"
    DECREASE = "decrease"
    STOP = "stop"


class ActivityCategory(StrEnum):
    """The kind of change an activity asks of people (DESIGN.md section 1)."""

    ORGANISATION = "organisation"
    PROCESS = "process"
    ROUTINE = "routine"
    BEHAVIOUR = "behaviour"
    TOOL = "tool"


class Aggregation(StrEnum):
    """How a period's bucket becomes one number: counts add up, KPI levels do not."""

    SUM = "sum"
    COUNT = "count"
    LAST = "last"
    MEAN = "mean"
    MIN = "min"
    MAX = "max"

    @property
    def fills_with_zero(self) -> bool:
        """A period without events is 0 for counts and sums, unknown for levels."""
        return self in (Aggregation.SUM, Aggregation.COUNT)


MetricName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Objective(BaseModel):
    """A performance metric to move from ``baseline`` to ``target`` by ``deadline``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: MetricName
    title: str | None = Field(default=None, max_length=500)
    unit: str | None = Field(
        default=None, max_length=40, description="What the metric counts in (``%``, ``leads``)."
    )
    baseline: float = Field(allow_inf_nan=False)
    target: float = Field(allow_inf_nan=False)
    direction: Direction
    deadline: date
    aggregation: Aggregation = Aggregation.LAST

    @model_validator(mode="after")
    def _target_lies_in_direction(self) -> Self:
        if not self.is_met_by(self.target) or self.is_met_by(self.baseline):
            raise ValueError(
                f"target must be {'above' if self.direction is Direction.UP else 'below'} "
                "the baseline"
            )
        return self

    def is_met_by(self, value: float) -> bool:
        """Whether ``value`` reaches the target in the objective's direction."""
        if self.direction is Direction.UP:
            return value >= self.target
        return value <= self.target

    def progress(self, value: float) -> float:
        """Fraction of the way from baseline to target (negative when moving backwards)."""
        return (value - self.baseline) / (self.target - self.baseline)


class ActivityTarget(BaseModel):
    """One itinerary step: an activity metric and the level to hold each period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: MetricName
    title: str | None = Field(default=None, max_length=500)
    unit: str | None = Field(
        default=None, max_length=40, description="What the activity counts in (``contacts``)."
    )
    category: ActivityCategory
    target_per_period: float = Field(ge=0, allow_inf_nan=False)
    direction: ActivityDirection
    aggregation: Aggregation = Aggregation.SUM

    @model_validator(mode="after")
    def _stop_means_zero(self) -> Self:
        if self.direction is ActivityDirection.STOP and self.target_per_period != 0:
            raise ValueError("a stopped activity has a target of 0 per period")
        return self

    def is_on_target(self, value: float) -> bool:
        """Whether a period's value meets the commitment (at least / at most / none)."""
        if self.direction is ActivityDirection.INCREASE:
            return value >= self.target_per_period
        return value <= self.target_per_period


class SuccessPlan(BaseModel):
    """An account's objectives, its itinerary of activities, and the people who carry it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    account_id: str = Field(min_length=1, max_length=200)
    objectives: tuple[Objective, ...] = Field(min_length=1)
    itinerary: tuple[ActivityTarget, ...] = ()
    adoption_owner_id: str | None = Field(default=None, min_length=1, max_length=200)
    sponsor_id: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _metrics_are_unique(self) -> Self:
        for label, metrics in (
            ("objectives", [objective.metric for objective in self.objectives]),
            ("itinerary", [activity.metric for activity in self.itinerary]),
        ):
            if len(set(metrics)) != len(metrics):
                raise ValueError(f"{label}: each metric may appear once")
        return self


class StakeholderRole(StrEnum):
    """The roles adoption depends on (DESIGN.md section 1)."""

    SPONSOR = "sponsor"
    ADOPTION_OWNER = "adoption_owner"
    SUPERVISOR = "supervisor"
    USER = "user"


class StakeholderStatus(StrEnum):
    ACTIVE = "active"
    DEPARTED = "departed"


@dataclass(frozen=True)
class Stakeholder:
    """One person of an account as the service last saw them."""

    person_id: str
    role: StakeholderRole
    status: StakeholderStatus
    changed_at: datetime
    name: str | None = None
    title: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status is StakeholderStatus.ACTIVE

    def described(self) -> dict[str, str | None]:
        """Who the person is, as evidence names them: id, name and title."""
        return {"person_id": self.person_id, "name": self.name, "title": self.title}
