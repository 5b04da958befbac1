"""Helpers of the correlation integration tests: publish envelopes, wait, read a topic to its end."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import Envelope, EventKind, EventSource


def record(event: Envelope, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    """The consumer record Kafka would hand the service for ``event``."""
    return ConsumerRecord(
        topic="events",
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=event.key,
        value=event.to_value(),
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=0,
        headers=tuple(event.headers()),
    )


def envelope(
    tenant_id: str,
    name: str,
    occurred_at: datetime,
    *,
    kind: EventKind = EventKind.USAGE,
    account_id: str | None = None,
    person_id: str | None = None,
    value: float = 1.0,
    properties: dict[str, Any] | None = None,
) -> Envelope:
    """An envelope as the ingest service would publish it."""
    return Envelope(
        tenant_id=tenant_id,
        account_id=account_id,
        person_id=person_id,
        kind=kind,
        name=name,
        value=value,
        properties=properties or {},
        occurred_at=occurred_at,
        received_at=occurred_at,
        source=EventSource.REST,
    )


async def publish(bootstrap: str, topic: str, events: Sequence[Envelope]) -> None:
    """Publish like ingest does: value, key ``tenant:account`` and CloudEvents headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=e.to_value(), key=e.key, headers=e.headers())
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def committed_total(bootstrap: str, group_id: str) -> int:
    """The sum of a group's committed offsets (records consumed when offsets start at 0)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


async def read_to_end(
    bootstrap: str, topic: str, partitions_count: int, *, deadline_seconds: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` (of ``partitions_count`` partitions) up to its end offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(partitions_count)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async with asyncio.timeout(deadline_seconds):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                batch = await consumer.getmany(timeout_ms=200)
                for partition_records in batch.values():
                    records.extend(partition_records)
    finally:
        await consumer.stop()
    return records
