"""The raw-topic consumer: trusted producers' events -> ``handlers.ingest_raw_records``."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord

from services.ingest.handlers import Context, ingest_raw_records
from services.ingest.settings import IngestSettings
from shared.consuming import BatchHandler, DeadLetter, Subscription


def subscription(settings: IngestSettings) -> Subscription:
    """The raw consumer group on the raw topic; what cannot be ingested is dead-lettered."""
    return Subscription(
        name="ingest-raw",
        group=settings.raw_consumer_group,
        topics=lambda topics: (topics.ingest_raw,),
        dead_letters=lambda topics: topics.events_dlq,
    )


def batch_handler(ingestor: Context) -> BatchHandler:
    """Normalise and publish a batch of raw records (their write key names the tenant)."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Sequence[DeadLetter]:
        return await ingest_raw_records(ingestor, records)

    return handle
