"""The events consumer: decode envelopes, count them once, let ``ConsumeLoop`` commit offsets."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog
from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents import handlers
from services.equivalents.settings import EquivalentsSettings
from services.equivalents.tables import TENANT_ID_LENGTH
from shared.events import Envelope, MalformedEnvelope
from shared.kafka import (
    BACKOFF_MAX_SECONDS,
    TRANSIENT_ERRORS,
    BatchHandler,
    ConsumeLoop,
    DeadLetter,
    create_consumer,
)
from shared.service import bootstrap_topics, open_producer

log = structlog.get_logger(__name__)

CLIENT_ID = "ampm-equivalents"


def batch_handler(sessions: async_sessionmaker[AsyncSession]) -> BatchHandler:
    """Decode a batch, dead-letter what is not an envelope, count the rest in one transaction."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[DeadLetter]:
        events: list[Envelope] = []
        letters: list[DeadLetter] = []
        for record in records:
            try:
                event = Envelope.from_value(record.value)
            except MalformedEnvelope as exc:
                letters.append(DeadLetter(record, f"malformed envelope: {exc}"))
                continue
            # A tenant id that cannot be stored is a poison message, not an outage to retry.
            if len(event.tenant_id) > TENANT_ID_LENGTH:
                letters.append(DeadLetter(record, "tenant_id: longer than a tenant id can be"))
                continue
            events.append(event)
        await handlers.record_events(sessions, events)
        return letters

    return handle


async def consume_events(
    settings: EquivalentsSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Consume the events topic until cancelled; waits for Kafka when it is not reachable.

    The API keeps serving conversions meanwhile, and ``/readyz`` reports Kafka as failing.
    """
    delay = 0.5
    while True:
        try:
            await _consume(settings, sessions)
        except TRANSIENT_ERRORS as exc:
            log.warning("events_consumer_waiting_for_kafka", error=repr(exc)[:300])
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)


async def _consume(
    settings: EquivalentsSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    topics = await bootstrap_topics(settings)
    async with open_producer(settings, client_id=CLIENT_ID) as producer:
        consumer = create_consumer(
            settings,
            topics.events,
            group_id=settings.topic_namespace + settings.equivalents_consumer_group,
            client_id=CLIENT_ID,
        )
        await consumer.start()
        try:
            loop = ConsumeLoop(
                consumer,
                batch_handler(sessions),
                producer=producer,
                dead_letter_topic=topics.events_dlq,
                name="equivalents-events",
            )
            await loop.run()
        finally:
            await consumer.stop()
