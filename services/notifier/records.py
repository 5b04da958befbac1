"""What the notifier's API reads back, as stored: recommendations, webhook endpoints, messages
with their deliveries, and delivery attempts. Frozen values, detached from the database
session; each ``of`` reads one stored row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notifier.tables import (
    AttemptRow,
    DeliveryRow,
    EndpointRow,
    MessageRow,
    RecommendationRow,
)
from shared.clock import timestamp


@dataclass(frozen=True, slots=True)
class StoredRecommendation:
    """A recommendation as it was pushed; ``seq`` orders the tenant's pages."""

    seq: int
    data: dict[str, Any]

    @classmethod
    def of(cls, row: RecommendationRow) -> StoredRecommendation:
        return cls(row.seq, recommendation_data(row))


def recommendation_data(row: RecommendationRow) -> dict[str, Any]:
    """A recommendation as API responses and webhooks carry it."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "category": row.category,
        "priority": row.priority,
        "title": row.title,
        "message": row.message,
        "actions": row.actions,
        "evidence": row.evidence,
        "links": row.links,
        "signal_change_id": row.signal_change_id,
        "signal_type": row.signal_type,
        "occurred_at": timestamp(row.occurred_at),
        "created_at": timestamp(row.created_at),
    }


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A tenant's webhook endpoint; ``secret`` is shown on creation and rotation only."""

    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    secret: str

    @classmethod
    def of(cls, row: EndpointRow) -> Endpoint:
        return cls(
            id=row.id,
            url=row.url,
            description=row.description,
            event_types=list(row.event_types),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            failing_since=row.failing_since,
            created_at=row.created_at,
            updated_at=row.updated_at,
            secret=row.secret,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where one message stands at one endpoint."""

    endpoint_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, row: DeliveryRow) -> Delivery:
        return cls(row.endpoint_id, row.status, row.attempts, row.next_attempt_at, row.last_error)


@dataclass(frozen=True, slots=True)
class Message:
    """One webhook message (its body as sent) and its deliveries."""

    seq: int
    id: str
    event_type: str
    account_id: str | None
    created_at: datetime
    body: str
    deliveries: tuple[Delivery, ...]

    @classmethod
    def of(cls, row: MessageRow, deliveries: list[DeliveryRow]) -> Message:
        return cls(
            row.seq,
            row.id,
            row.event_type,
            row.account_id,
            row.created_at,
            row.body,
            tuple(Delivery.of(delivery) for delivery in deliveries),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt of a delivery, as the delivery log shows it."""

    endpoint_id: str
    attempt_number: int
    outcome: str
    status_code: int | None
    latency_ms: float
    response_body: str | None
    error: str | None
    attempted_at: datetime

    @classmethod
    def of(cls, row: AttemptRow) -> Attempt:
        return cls(
            row.endpoint_id,
            row.attempt_number,
            row.outcome,
            row.status_code,
            row.latency_ms,
            row.response_body,
            row.error,
            row.attempted_at,
        )
