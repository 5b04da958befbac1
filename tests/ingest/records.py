"""Reading what ingest published: topic sizes, envelopes, headers and dead-letter values."""

from __future__ import annotations

from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import Envelope


async def topic_size(bootstrap_servers: str, topic: str) -> int:
    """Records ever written to ``topic`` (its end offsets): exact once the writes were acked."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [p["partition"] for p in description["partitions"]]
    assert partitions, f"no topic {topic}"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        offsets = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return sum(offsets.values())
    finally:
        await consumer.stop()


def envelopes_of(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, Envelope]:
    """The records' envelopes by event id."""
    return {e.id: e for e in (Envelope.from_value(r.value) for r in records)}


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


def json_of(record: ConsumerRecord[bytes, bytes]) -> Any:
    assert record.value is not None
    return orjson.loads(record.value)
