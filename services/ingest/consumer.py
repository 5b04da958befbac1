"""The raw-topic consumer: trusted producers' events -> ``handlers.ingest_raw_records``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import ConsumerRecord

from services.ingest.handlers import Ingestor, ingest_raw_records
from services.ingest.settings import IngestSettings
from shared.kafka import ConsumeLoop, DeadLetter, create_consumer


@asynccontextmanager
async def raw_consume_loop(
    settings: IngestSettings, ingestor: Ingestor
) -> AsyncIterator[ConsumeLoop]:
    """A started consumer of the raw topic wrapped in the shared loop; stopped on exit."""
    consumer = create_consumer(
        settings,
        ingestor.topics.ingest_raw,
        # Namespaced like the topics, so deployments sharing a cluster keep separate groups.
        group_id=f"{settings.topic_namespace}{settings.raw_consumer_group}",
        client_id="ampm-ingest-raw",
    )

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Sequence[DeadLetter]:
        return await ingest_raw_records(ingestor, records)

    await consumer.start()
    try:
        yield ConsumeLoop(
            consumer,
            handle,
            producer=ingestor.producer,
            dead_letter_topic=ingestor.topics.events_dlq,
            name="ingest-raw",
        )
    finally:
        await consumer.stop()
