"""Applying erasures in a service: consume ``ampm.erasures``, apply each request once.

Each service runs ``run_erasures`` with its own ``apply`` (what to delete or scrub in its own
tables) under a consumer group of its own; the request and the service's progress row commit in
one transaction, before the offset, so a crash anywhere applies a request once. ``suppression``
is what the event consumers ask before applying a batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence

import structlog
from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import utc_now
from shared.consuming import BatchHandler, DeadLetter, Subscription, run_consumer
from shared.erasure import ErasureRequest, Suppression
from shared.kafka import HealingProducer
from shared.settings import ServiceSettings
from shared.tables import ErasedSubjectRow, ErasureProgressRow

log = structlog.get_logger(__name__)

ApplyErasure = Callable[[AsyncSession, ErasureRequest], Awaitable[None]]


async def suppression(session: AsyncSession, tenant_ids: Collection[str]) -> Suppression:
    """The erased tenants and people of these tenants."""
    if not tenant_ids:
        return Suppression(())
    rows = await session.execute(
        select(ErasedSubjectRow.tenant_id, ErasedSubjectRow.subject_hash).where(
            ErasedSubjectRow.tenant_id.in_(sorted(set(tenant_ids)))
        )
    )
    return Suppression((tenant_id, hashed) for tenant_id, hashed in rows)


def erasure_handler(
    sessions: async_sessionmaker[AsyncSession], service: str, apply: ApplyErasure
) -> BatchHandler:
    """Apply each request of a batch once, with this service's progress row."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[DeadLetter]:
        letters = []
        for record in records:
            try:
                request = ErasureRequest.from_value(record.value)
            except (ValidationError, ValueError) as exc:
                letters.append(DeadLetter(record, f"malformed erasure request: {exc}"[:500]))
                continue
            async with sessions.begin() as session:
                done = await session.get(ErasureProgressRow, (request.id, service))
                if done is not None:
                    continue
                await apply(session, request)
                session.add(
                    ErasureProgressRow(
                        erasure_id=request.id, service=service, completed_at=utc_now()
                    )
                )
            log.info("erasure_applied", service=service, erasure_id=request.id, scope=request.scope)
        return letters

    return handle


async def run_erasures(
    settings: ServiceSettings,
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    apply: ApplyErasure,
    *,
    producer: HealingProducer,
) -> None:
    """Consume ``ampm.erasures`` until cancelled; waits for Kafka while it is unreachable."""
    subscription = Subscription(
        name=f"{service}-erasures",
        group=f"ampm-{service}-erasures",
        topics=lambda topics: (topics.erasures,),
        dead_letters=lambda topics: topics.events_dlq,
    )
    await run_consumer(
        settings, subscription, erasure_handler(sessions, service, apply), producer=producer
    )
