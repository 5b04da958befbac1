"""The events consumer: decode envelopes, dead-letter what is not one, count the rest once."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents import handlers
from services.equivalents.settings import EquivalentsSettings
from services.equivalents.tables import TENANT_ID_LENGTH
from shared.consuming import BatchHandler, DeadLetter, Subscription, decode_records
from shared.events import Envelope


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
        decoded, letters = decode_records(records, Envelope.from_value, "envelope")
        # A tenant id that cannot be stored is a poison message, not an outage to retry.
        too_long = "tenant_id: longer than a tenant id can be"
        letters += [
            DeadLetter(r, too_long) for r, e in decoded if len(e.tenant_id) > TENANT_ID_LENGTH
        ]
        await handlers.record_events(
            sessions, [e for _, e in decoded if len(e.tenant_id) <= TENANT_ID_LENGTH]
        )
        return letters

    return handle
