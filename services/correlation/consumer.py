"""The events consumer: each batch goes to ``handlers.process_records`` as it comes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation.handlers import process_records
from services.correlation.settings import CorrelationSettings
from shared.consuming import BatchHandler, DeadLetter, Subscription


def subscription(settings: CorrelationSettings) -> Subscription:
    """The correlation consumer group on the events topic; big polls share a transaction."""
    return Subscription(
        name="correlation",
        group=settings.consumer_group,
        topics=lambda topics: (topics.events,),
        dead_letters=lambda topics: topics.events_dlq,
        max_poll_records=settings.max_poll_records,
    )


def batch_handler(
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    on_evaluated: Callable[[], None] | None = None,
) -> BatchHandler:
    """Process a batch in one transaction, then wake the relay for the changes it wrote."""

    async def handle(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Sequence[DeadLetter]:
        return await process_records(sessions, records, settings, on_evaluated=on_evaluated)

    return handle
