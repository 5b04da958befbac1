"""Queries of the delivery worker: leasing due deliveries, locking them to record attempts,
and failing an endpoint's pending deliveries. Every function takes the caller's session; the
caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.signing import EndpointSecrets
from services.notifier.store import DeliveryStatus
from services.notifier.tables import (
    AttemptRow,
    DeliveryRow,
    EndpointRow,
    MessageRow,
)


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased by one worker for one attempt, with what the attempt needs."""

    delivery_id: int
    attempt_number: int
    tenant_id: str
    account_id: str | None
    message_id: str
    event_type: str
    body: bytes
    endpoint_id: str
    url: str
    secrets: EndpointSecrets


async def claim_due(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedDelivery]:
    """Lease due deliveries of enabled endpoints for one attempt each.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent workers claim disjoint rows; the
    lease (``next_attempt_at`` moved past the attempt's timeout) keeps them claimed after this
    short transaction commits. SQLite ignores the locking clause: one instance only there.
    """
    due = await session.execute(
        select(DeliveryRow, MessageRow, EndpointRow)
        .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
        .join(EndpointRow, EndpointRow.id == DeliveryRow.endpoint_id)
        .where(
            DeliveryRow.status == DeliveryStatus.PENDING.value,
            DeliveryRow.next_attempt_at <= now,
            EndpointRow.enabled,
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=DeliveryRow)
    )
    claimed: list[ClaimedDelivery] = []
    for delivery, message, endpoint in due.all():
        delivery.attempts += 1
        delivery.next_attempt_at = now + lease
        delivery.updated_at = now
        claimed.append(
            ClaimedDelivery(
                delivery_id=delivery.id,
                attempt_number=delivery.attempts,
                tenant_id=delivery.tenant_id,
                account_id=message.account_id,
                message_id=message.id,
                event_type=message.event_type,
                body=message.body.encode(),
                endpoint_id=endpoint.id,
                url=endpoint.url,
                secrets=endpoint_secrets(endpoint),
            )
        )
    return claimed


def endpoint_secrets(endpoint: EndpointRow) -> EndpointSecrets:
    """The endpoint's signing secrets as the domain sees them."""
    return EndpointSecrets(
        current=endpoint.secret,
        previous=endpoint.previous_secret,
        previous_expires_at=endpoint.previous_secret_expires_at,
    )


async def deliveries_for_update(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, tuple[DeliveryRow, EndpointRow]]:
    """Deliveries and their endpoints, the deliveries locked for recording attempts.

    Only the delivery rows are locked (in id order, so two recorders never deadlock): every
    attempt of one endpoint's deliveries would otherwise queue on the endpoint's row.
    """
    rows = await session.execute(
        select(DeliveryRow, EndpointRow)
        .join(EndpointRow, EndpointRow.id == DeliveryRow.endpoint_id)
        .where(DeliveryRow.id.in_(delivery_ids))
        .order_by(DeliveryRow.id)
        .with_for_update(of=DeliveryRow)
    )
    return {delivery.id: (delivery, endpoint) for delivery, endpoint in rows.all()}


async def endpoint_for_update(session: AsyncSession, endpoint_id: str) -> EndpointRow | None:
    """The endpoint, locked and read afresh (to disable it once, however many see it fail)."""
    return await session.scalar(
        select(EndpointRow)
        .where(EndpointRow.id == endpoint_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def add_attempts(session: AsyncSession, attempts: Sequence[AttemptRow]) -> None:
    """Log HTTP attempts."""
    session.add_all(attempts)


@dataclass(frozen=True, slots=True)
class StoppedDelivery:
    """A pending delivery failed because its endpoint was disabled, with what the DLQ shows."""

    tenant_id: str
    account_id: str | None
    message_id: str
    event_type: str
    body: bytes
    endpoint_id: str
    attempts: int
    last_error: str | None


async def fail_pending_deliveries(
    session: AsyncSession, endpoint_id: str, reason: str, now: datetime
) -> list[StoppedDelivery]:
    """Stop every pending delivery of an endpoint that was just disabled; returns them."""
    pending = await session.execute(
        select(DeliveryRow, MessageRow)
        .join(MessageRow, MessageRow.id == DeliveryRow.message_id)
        .where(
            DeliveryRow.endpoint_id == endpoint_id,
            DeliveryRow.status == DeliveryStatus.PENDING.value,
        )
        .order_by(DeliveryRow.id)
        .with_for_update(of=DeliveryRow)
    )
    stopped = []
    for delivery, message in pending.all():
        stopped.append(
            StoppedDelivery(
                tenant_id=delivery.tenant_id,
                account_id=message.account_id,
                message_id=message.id,
                event_type=message.event_type,
                body=message.body.encode(),
                endpoint_id=endpoint_id,
                attempts=delivery.attempts,
                last_error=delivery.last_error,
            )
        )
        delivery.status = DeliveryStatus.FAILED.value
        delivery.last_error = reason[:1000]
        delivery.updated_at = now
    return stopped
