"""Queries of the notifier. Every function takes the caller's session; the caller commits.

Every query that a tenant's request reaches filters by ``tenant_id``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import String, and_, cast, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier.filters import matches
from services.notifier.recommendations import Recommendation
from services.notifier.signing import encode_payload
from services.notifier.tables import (
    AccountValueRow,
    AttemptRow,
    DeliveryRow,
    EndpointRow,
    MessageRow,
    ProcessedMessageRow,
    RecommendationRow,
)
from shared.db import delete_tenant_rows
from shared.digests import ValueDigest
from shared.erasure import mentions


class DeliveryStatus(StrEnum):
    """Where one (message, endpoint) delivery stands."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def new_id(prefix: str) -> str:
    """A public id such as ``msg_2f1c...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


# --- account value ------------------------------------------------------------------------------


async def add_account_value(session: AsyncSession, digest: ValueDigest) -> None:
    """Keep a digest for quoting; a period's digest is stored once (its id was claimed)."""
    await session.merge(
        AccountValueRow(
            tenant_id=digest.tenant_id,
            account_id=digest.account_id,
            period=digest.period,
            period_end=digest.period_end,
            digest=digest.model_dump(mode="json"),
        )
    )


async def account_values(
    session: AsyncSession, tenant_id: str, account_id: str, limit: int = 26
) -> list[ValueDigest]:
    """The account's latest digests, newest period first."""
    rows = await session.scalars(
        select(AccountValueRow)
        .where(AccountValueRow.tenant_id == tenant_id, AccountValueRow.account_id == account_id)
        .order_by(AccountValueRow.period_end.desc())
        .limit(limit)
    )
    return [ValueDigest.model_validate(row.digest) for row in rows]


# --- recommendations ---------------------------------------------------------------------------


def add_recommendation(
    session: AsyncSession, recommendation: Recommendation, now: datetime
) -> RecommendationRow:
    """Store a recommendation under a fresh ``rec_`` id."""
    row = RecommendationRow(
        id=new_id("rec"),
        tenant_id=recommendation.tenant_id,
        account_id=recommendation.account_id,
        signal_change_id=recommendation.signal_change_id,
        signal_type=recommendation.signal_type.value if recommendation.signal_type else None,
        category=recommendation.category.value,
        priority=recommendation.priority.value,
        title=recommendation.title,
        message=recommendation.message,
        actions=list(recommendation.actions),
        evidence=recommendation.evidence,
        links=recommendation.links,
        occurred_at=recommendation.occurred_at,
        created_at=now,
    )
    session.add(row)
    return row


async def list_recommendations(
    session: AsyncSession,
    tenant_id: str,
    *,
    account_id: str | None,
    since: datetime | None,
    after_seq: int | None,
    limit: int,
) -> list[RecommendationRow]:
    """A page of the tenant's recommendations, oldest first."""
    query = select(RecommendationRow).where(RecommendationRow.tenant_id == tenant_id)
    if account_id is not None:
        query = query.where(RecommendationRow.account_id == account_id)
    if since is not None:
        query = query.where(RecommendationRow.created_at >= since)
    if after_seq is not None:
        query = query.where(RecommendationRow.seq > after_seq)
    rows = await session.scalars(query.order_by(RecommendationRow.seq).limit(limit))
    return list(rows)


async def get_recommendation(
    session: AsyncSession, tenant_id: str, recommendation_id: str
) -> RecommendationRow | None:
    return await session.scalar(
        select(RecommendationRow).where(
            RecommendationRow.tenant_id == tenant_id, RecommendationRow.id == recommendation_id
        )
    )


# --- the outbox --------------------------------------------------------------------------------


async def enabled_endpoints(
    session: AsyncSession, tenant_ids: Iterable[str]
) -> dict[str, list[EndpointRow]]:
    """The enabled endpoints of each tenant (tenants without any are absent)."""
    rows = await session.scalars(
        select(EndpointRow)
        .where(EndpointRow.tenant_id.in_(set(tenant_ids)), EndpointRow.enabled)
        .order_by(EndpointRow.id)
    )
    found: dict[str, list[EndpointRow]] = {}
    for endpoint in rows:
        found.setdefault(endpoint.tenant_id, []).append(endpoint)
    return found


async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: str,
    account_id: str | None,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
    exclude_endpoint: str | None = None,
    endpoints: Sequence[EndpointRow] | None = None,
) -> str:
    """Store a message and one pending delivery per subscribed, enabled endpoint; its id.

    ``endpoints`` are the tenant's enabled endpoints when the caller has them already (one
    query per batch of messages, not one per message)."""
    message_id = new_id("msg")
    message = MessageRow(
        id=message_id,
        tenant_id=tenant_id,
        account_id=account_id,
        event_type=event_type,
        body=encode_payload(event_type, now, data).decode(),
        created_at=now,
    )
    session.add(message)
    if endpoints is None:
        endpoints = (await enabled_endpoints(session, {tenant_id})).get(tenant_id, [])
    for endpoint in endpoints:
        if endpoint.id != exclude_endpoint and matches(event_type, endpoint.event_types):
            session.add(
                DeliveryRow(
                    tenant_id=tenant_id,
                    message=message,
                    endpoint_id=endpoint.id,
                    status=DeliveryStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=now,
                    updated_at=now,
                )
            )
    return message_id


# --- endpoints ---------------------------------------------------------------------------------


async def get_endpoint(
    session: AsyncSession, tenant_id: str, endpoint_id: str
) -> EndpointRow | None:
    """The tenant's endpoint, or None (another tenant's endpoint is None too)."""
    return await session.scalar(
        select(EndpointRow).where(EndpointRow.tenant_id == tenant_id, EndpointRow.id == endpoint_id)
    )


async def list_endpoints(session: AsyncSession, tenant_id: str) -> list[EndpointRow]:
    """The tenant's endpoints, oldest first."""
    rows = await session.scalars(
        select(EndpointRow)
        .where(EndpointRow.tenant_id == tenant_id)
        .order_by(EndpointRow.created_at, EndpointRow.id)
    )
    return list(rows)


# --- the delivery log --------------------------------------------------------------------------


async def list_messages(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: DeliveryStatus | None,
    after_seq: int | None,
    limit: int,
) -> list[tuple[MessageRow, list[DeliveryRow]]]:
    """A page of the tenant's messages with their deliveries, oldest first.

    With ``status``, only messages having at least one delivery in that status.
    """
    query = select(MessageRow).where(MessageRow.tenant_id == tenant_id)
    if status is not None:
        query = query.where(
            exists().where(
                and_(
                    DeliveryRow.message_id == MessageRow.id,
                    DeliveryRow.status == status.value,
                )
            )
        )
    if after_seq is not None:
        query = query.where(MessageRow.seq > after_seq)
    messages = list(await session.scalars(query.order_by(MessageRow.seq).limit(limit)))
    deliveries = await session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.message_id.in_([m.id for m in messages]))
        .order_by(DeliveryRow.id)
    )
    by_message: dict[str, list[DeliveryRow]] = {m.id: [] for m in messages}
    for delivery in deliveries:
        by_message[delivery.message_id].append(delivery)
    return [(message, by_message[message.id]) for message in messages]


async def get_message(session: AsyncSession, tenant_id: str, message_id: str) -> MessageRow | None:
    """The tenant's message, or None."""
    return await session.scalar(
        select(MessageRow).where(MessageRow.tenant_id == tenant_id, MessageRow.id == message_id)
    )


async def attempts_of(session: AsyncSession, message_id: str) -> list[AttemptRow]:
    """Every attempt of a message, in the order they were made."""
    rows = await session.scalars(
        select(AttemptRow).where(AttemptRow.message_id == message_id).order_by(AttemptRow.id)
    )
    return list(rows)


async def reschedule(
    session: AsyncSession,
    tenant_id: str,
    now: datetime,
    *,
    message_id: str | None = None,
    endpoint_id: str | None = None,
    failed_since: datetime | None = None,
) -> int:
    """Make deliveries pending again with a fresh schedule; how many were rescheduled.

    By message: every delivery of it that is not already pending (a replay). By endpoint:
    its failed deliveries of messages created since ``failed_since`` (a recovery).
    """
    query = update(DeliveryRow).where(DeliveryRow.tenant_id == tenant_id)
    if message_id is not None:
        query = query.where(
            DeliveryRow.message_id == message_id,
            DeliveryRow.status != DeliveryStatus.PENDING.value,
        )
    if endpoint_id is not None:
        query = query.where(
            DeliveryRow.endpoint_id == endpoint_id,
            DeliveryRow.status == DeliveryStatus.FAILED.value,
        )
    if failed_since is not None:
        query = query.where(
            DeliveryRow.message_id.in_(
                select(MessageRow.id).where(
                    MessageRow.tenant_id == tenant_id, MessageRow.created_at >= failed_since
                )
            )
        )
    result = await session.execute(
        query.values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            updated_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- erasure ----------------------------------------------------------------------------------

# Children before parents (attempts go with their deliveries).
TENANT_TABLES = (
    DeliveryRow,
    MessageRow,
    EndpointRow,
    RecommendationRow,
    AccountValueRow,
    ProcessedMessageRow,
)


async def erase_tenant(session: AsyncSession, tenant_id: str) -> None:
    await delete_tenant_rows(session, TENANT_TABLES, tenant_id)


async def erase_person(session: AsyncSession, tenant_id: str, person_id: str) -> None:
    """Delete the recommendations and the webhook messages (their deliveries and attempts with
    them) that name the person: their texts quote the person's name and title."""
    recommendations = await session.scalars(
        select(RecommendationRow).where(
            RecommendationRow.tenant_id == tenant_id,
            cast(RecommendationRow.evidence, String).contains(person_id),
        )
    )
    for row in recommendations:
        if mentions(row.evidence, {person_id}):
            await session.delete(row)
    messages = await session.scalars(
        select(MessageRow).where(
            MessageRow.tenant_id == tenant_id, MessageRow.body.contains(person_id)
        )
    )
    for message in messages:
        if mentions(orjson.loads(message.body), {person_id}):
            await session.delete(message)
