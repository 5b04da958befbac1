"""The outbox relay: publishes signal changes written by the handlers, then stamps them sent.

A change is published with ``acks=all`` before its row is stamped; a crash in between publishes
it again with the same ``SignalChange.id`` (the ``ce_id`` header), which consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation import signal_store
from shared.clock import utc_now
from shared.kafka import HealingProducer
from shared.signals import SignalChange

log = structlog.get_logger(__name__)

BATCH_SIZE = 200


class OutboxRelay:
    """Publish unsent outbox rows in order; ``wake`` after a commit skips the poll wait."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], topic: str, *, poll_seconds: float
    ) -> None:
        self._sessions = sessions
        self._topic = topic
        self._poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """New rows were committed: publish them now."""
        self._wakeup.set()

    async def publish_pending(self, producer: AIOKafkaProducer | HealingProducer) -> int:
        """Publish one batch of unsent changes; returns how many were sent."""
        async with self._sessions.begin() as session:
            rows = await signal_store.unsent(session, BATCH_SIZE)
            if not rows:
                return 0
            futures = []
            for row in rows:
                change = SignalChange.model_validate(row.payload)
                futures.append(
                    await producer.send(
                        self._topic,
                        value=change.to_value(),
                        key=change.key,
                        headers=change.headers(),
                    )
                )
            await asyncio.gather(*futures)
            await signal_store.mark_sent(session, [row.seq for row in rows], utc_now())
        return len(rows)

    async def run(self, producer: HealingProducer) -> None:
        """Publish until cancelled; a failure is logged and retried at the next poll, and a
        producer that cannot recover (after a long broker outage) is replaced."""
        while True:
            self._wakeup.clear()
            try:
                while await self.publish_pending(producer) == BATCH_SIZE:
                    pass
                producer.succeeded()
            except Exception as exc:  # a dependency is down: the rows stay unsent
                log.warning("outbox_publish_failed", error=repr(exc)[:300])
                await producer.failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_seconds)
