"""The events consumer: decode envelopes, dead-letter what is not one, count the rest once."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents import handlers
from services.equivalents.settings import EquivalentsSettings
from services.equivalents.tables import TENANT_ID_LENGTH
from shared.consuming import BatchHandler, DeadLetter, Subscription
from shared.events import Envelope, MalformedEnvelope


def subscription(settings: EquivalentsSettings) -> Subscription:
    """The equivalents consumer group on the events topic."""
    return Subscription(
        name="equivalents-events",
        group=settings.consumer_group,
        topics=lambda topics: (topics.events,),
        dead_letters=lambda topics: topics.events_dlq,
    )


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
