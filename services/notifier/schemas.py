"""Request and response bodies of the notifier API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from services.notifier.store import DeliveryStatus


class RecommendationOut(BaseModel):
    id: str
    account_id: str
    category: str
    priority: str
    title: str
    message: str
    actions: list[str]
    evidence: dict[str, Any]
    links: dict[str, str]
    signal_change_id: str
    signal_type: str | None
    occurred_at: datetime
    created_at: datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next (None: last page)."""

    data: list[T]
    next_cursor: str | None = None


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(
        default_factory=list,
        description="e.g. recommendation.created, signal.*; empty: every event type",
    )


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = None
    enabled: bool | None = None


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="endpoint_gone (it answered 410) or failing_continuously; null while enabled."
    )
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    """Shown on creation and rotation only: the secret is not retrievable later."""

    secret: str


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


class MessageOut(BaseModel):
    id: str
    event_type: str
    account_id: str | None
    created_at: datetime
    payload: dict[str, Any]
    deliveries: list[DeliveryOut]


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    endpoint_id: str
    attempt_number: int
    outcome: str
    status_code: int | None
    latency_ms: float
    response_body: str | None
    error: str | None
    attempted_at: datetime


class Rescheduled(BaseModel):
    """How many deliveries were made pending again."""

    rescheduled: int
