"""The signal contract: what the correlation service publishes and the notifier consumes.

A ``SignalChange`` travels on the signals topic, keyed like events (``tenant_id:account_id``),
with CloudEvents headers whose ``ce_type`` is the change type (``signal.raised`` ...).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.clock import timestamp
from shared.events import CLOUDEVENTS_SPEC_VERSION, CONTENT_TYPE, Header, partition_key


class SignalType(StrEnum):
    """Risk and milestone signals raised per account (DESIGN.md section 1)."""

    SPONSOR_DEPARTURE = "sponsor_departure"
    REORGANIZATION = "reorganization"
    NO_ADOPTION_OWNER = "no_adoption_owner"
    ADOPTION_DROP = "adoption_drop"
    ACTIVITY_OFF_TRACK = "activity_off_track"
    OBJECTIVE_AT_RISK = "objective_at_risk"
    BLOCKER_REPORTED = "blocker_reported"
    OBJECTIVE_ACHIEVED = "objective_achieved"


class GpsCategory(StrEnum):
    """The GPS metaphor a CSM reads a signal or recommendation in."""

    NEXT_STEP = "next_step"
    ROADBLOCK = "roadblock"
    ACCIDENT_AHEAD = "accident_ahead"
    BAD_WEATHER = "bad_weather"
    REROUTE = "reroute"
    ARRIVED = "arrived"


SIGNAL_CATEGORY: dict[SignalType, GpsCategory] = {
    SignalType.SPONSOR_DEPARTURE: GpsCategory.BAD_WEATHER,
    SignalType.REORGANIZATION: GpsCategory.BAD_WEATHER,
    SignalType.NO_ADOPTION_OWNER: GpsCategory.ROADBLOCK,
    SignalType.ADOPTION_DROP: GpsCategory.ACCIDENT_AHEAD,
    SignalType.ACTIVITY_OFF_TRACK: GpsCategory.REROUTE,
    SignalType.OBJECTIVE_AT_RISK: GpsCategory.ACCIDENT_AHEAD,
    SignalType.BLOCKER_REPORTED: GpsCategory.ROADBLOCK,
    SignalType.OBJECTIVE_ACHIEVED: GpsCategory.ARRIVED,
}


class SignalChangeType(StrEnum):
    """What happened: a signal opened, a signal closed, or the account's health moved."""

    RAISED = "signal.raised"
    RESOLVED = "signal.resolved"
    HEALTH_CHANGED = "health.changed"


class SignalState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ItineraryStatus(BaseModel):
    """Where one itinerary activity stands in the latest period (for the next-step rule).

    The lead/lag fields are the verdict of the correlation service's analysis (pre-whitened,
    false-discovery-rate controlled), never a raw coefficient.
    """

    model_config = ConfigDict(frozen=True)

    activity: str
    title: str | None = None
    direction: str = Field(description="increase | decrease | stop")
    target: float
    actual: float | None = None
    verdict: str | None = Field(
        default=None,
        description="moves_objective | no_evidence | insufficient_evidence; None: not analysed",
    )
    objective: str | None = Field(default=None, description="the objective of the verdict")
    lag: int | None = Field(default=None, description="periods between activity and effect")
    effect_r: float | None = Field(
        default=None,
        description="pre-whitened correlation at that lag, positive in the plan's intended "
        "direction",
    )
    q_value: float | None = Field(default=None, description="Benjamini-Hochberg q of that lag")
    unit: str | None = None


class HealthPayload(BaseModel):
    """The account's health as of a ``health.changed`` change."""

    model_config = ConfigDict(frozen=True)

    score: float = Field(ge=0, le=100)
    previous_score: float | None = None
    components: dict[str, dict[str, float | None]] = Field(
        default_factory=dict, description="name -> {score, weight, contribution}"
    )
    open_signals: list[SignalType] = Field(default_factory=list)
    itinerary: list[ItineraryStatus] = Field(default_factory=list)


class SignalChange(BaseModel):
    """One change published on the signals topic.

    ``signal_type``/``subject``/``state`` are set for ``signal.*`` changes; ``health`` for
    ``health.changed``. ``evidence`` carries the metric values, thresholds and dates that
    explain the change, so a recommendation can say why; ``activity_off_track`` evidence has
    at least ``activity``, ``target``, ``actual`` and ``unit``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    type: SignalChangeType
    tenant_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    signal_id: str | None = None
    signal_type: SignalType | None = None
    category: GpsCategory | None = None
    subject: str | None = None
    state: SignalState | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    health: HealthPayload | None = None
    as_of: AwareDatetime | None = Field(
        default=None,
        description="when the change became true in event time (the lifecycle event's time, or "
        "the end of the last complete period the rule read)",
    )
    catching_up: bool = Field(
        default=False,
        description="detected while the account's data lagged the wall clock (a history "
        "backfill): news about the past, not about this week",
    )
    occurred_at: AwareDatetime = Field(description="when the change was detected")

    @property
    def key(self) -> bytes:
        return partition_key(self.tenant_id, self.account_id)

    def to_value(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    def headers(self) -> list[Header]:
        return [
            ("ce_id", self.id.encode()),
            ("ce_source", f"/tenants/{self.tenant_id}/correlation".encode()),
            ("ce_type", self.type.value.encode()),
            ("ce_time", _iso(self.occurred_at).encode()),
            ("ce_specversion", CLOUDEVENTS_SPEC_VERSION.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]

    @classmethod
    def from_value(cls, value: bytes | None) -> SignalChange:
        """Decode a Kafka message value; a ``ValueError`` when it is not a signal change."""
        return cls.model_validate(orjson.loads(value or b""))


def _iso(moment: datetime) -> str:
    return timestamp(moment)
