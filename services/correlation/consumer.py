"""The events consumer: a thin loop from Kafka records to ``handlers.process_records``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation.handlers import process_records
from services.correlation.relay import OutboxRelay
from services.correlation.settings import CorrelationSettings
from shared.kafka import BatchHandler, ConsumeLoop, DeadLetter, HealingProducer, create_consumer
from shared.service import bootstrap_topics, open_healing_producer
from shared.topics import Topics

log = structlog.get_logger(__name__)

STARTUP_RETRY_SECONDS = 2.0


def batch_handler(
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    relay: OutboxRelay | None = None,
) -> BatchHandler:
    """Process a batch in one transaction, then wake the relay for the changes it wrote."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Sequence[DeadLetter]:
        return await process_records(
            sessions, records, settings, on_evaluated=relay.wake if relay else None
        )

    return handle


def events_consumer(settings: CorrelationSettings, topics: Topics) -> AIOKafkaConsumer:
    """A member of the correlation consumer group on the events topic."""
    return create_consumer(
        settings,
        topics.events,
        group_id=settings.group_id,
        client_id="ampm-correlation",
        max_poll_records=settings.max_poll_records,
    )


def consume_loop(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer | HealingProducer,
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    topics: Topics,
    relay: OutboxRelay | None,
) -> ConsumeLoop:
    """The shared commit and dead-letter policy around the batch handler."""
    return ConsumeLoop(
        consumer,
        batch_handler(sessions, settings, relay),
        producer=producer,
        dead_letter_topic=topics.events_dlq,
        name="correlation",
    )


async def run_pipeline(
    settings: CorrelationSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> None:
    """Consume events and relay the outbox until cancelled.

    Kafka may be down when the service starts: the HTTP API keeps serving (and ``/readyz``
    says why) while this retries the connection.
    """
    while True:
        try:
            await _run_once(settings, sessions, relay)
        except Exception as exc:  # Kafka unreachable at startup or lost: start over
            log.warning("correlation_pipeline_restarting", error=repr(exc)[:300])
            await asyncio.sleep(STARTUP_RETRY_SECONDS)


async def _run_once(
    settings: CorrelationSettings,
    sessions: async_sessionmaker[AsyncSession],
    relay: OutboxRelay,
) -> None:
    topics = await bootstrap_topics(settings)
    async with AsyncExitStack() as stack:
        producer = await stack.enter_async_context(
            open_healing_producer(settings, client_id="ampm-correlation")
        )
        consumer = events_consumer(settings, topics)
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        loop = consume_loop(consumer, producer, sessions, settings, topics, relay)
        async with asyncio.TaskGroup() as group:
            group.create_task(relay.run(producer), name="correlation-relay")
            group.create_task(loop.run(), name="correlation-consumer")
