"""The shared Kafka plumbing against the real broker started for the session."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord

from shared.consuming import ConsumeLoop, DeadLetter
from shared.events import Envelope, EventKind, EventSource, header_value
from shared.kafka import (
    create_consumer,
    create_producer,
    ensure_topics,
    group_backlog,
)
from shared.settings import ServiceSettings
from shared.topics import Topics
from tests.support.kafka import read_records

pytestmark = pytest.mark.integration


async def _topics(settings: ServiceSettings) -> Topics:
    topics = Topics(settings.topic_namespace)
    await ensure_topics(
        settings.kafka_bootstrap_servers, topics.all(), partitions=3, replication_factor=1
    )
    return topics


def _envelope(n: int, account: str = "acme") -> Envelope:
    moment = datetime(2026, 11, 2, 8, n % 60, tzinfo=UTC)
    return Envelope(
        id=f"evt-{n}",
        tenant_id="tn_k",
        account_id=account,
        kind=EventKind.USAGE,
        name="transactions_processed",
        value=float(n),
        unit="transactions",
        properties={"n": n},
        occurred_at=moment,
        received_at=moment,
        source=EventSource.REST,
    )


async def _drain(consumer: object, expected: int, seconds: float = 20) -> list[ConsumerRecord]:
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(seconds):
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=200)  # type: ignore[attr-defined]
            for partition_records in batch.values():
                records.extend(partition_records)
    return records


async def test_committed_messages_are_not_redelivered_after_restart(
    service_settings: ServiceSettings,
) -> None:
    topics = await _topics(service_settings)
    producer = create_producer(service_settings, client_id="test")
    await producer.start()
    try:
        for n in range(10):
            event = _envelope(n)
            await producer.send_and_wait(topics.events, event.to_value(), key=event.key)
    finally:
        await producer.stop()

    group = f"{service_settings.topic_namespace}group"
    bootstrap = service_settings.kafka_bootstrap_servers
    consumer = create_consumer(service_settings, topics.events, group_id=group, client_id="c1")
    await consumer.start()
    try:
        first = await _drain(consumer, 10)
        assert await group_backlog(bootstrap, group, topics.events) == 10  # read, not committed
        for partition in consumer.assignment():
            position = await consumer.position(partition)
            await consumer.commit({partition: position})
    finally:
        await consumer.stop()
    assert sorted(r.value for r in first) == sorted(_envelope(n).to_value() for n in range(10))
    assert await group_backlog(bootstrap, group, topics.events) == 0

    producer = create_producer(service_settings, client_id="test")
    await producer.start()
    try:
        late = _envelope(99)
        await producer.send_and_wait(topics.events, late.to_value(), key=late.key)
    finally:
        await producer.stop()
    assert await group_backlog(bootstrap, group, topics.events) == 1

    restarted = create_consumer(service_settings, topics.events, group_id=group, client_id="c2")
    await restarted.start()
    try:
        second = await _drain(restarted, 1)
        extra = await restarted.getmany(timeout_ms=1000)
    finally:
        await restarted.stop()
    assert [Envelope.from_value(r.value).id for r in second] == ["evt-99"]
    assert not any(extra.values())


async def test_envelope_round_trip_keeps_fields_and_cloudevents_headers(
    service_settings: ServiceSettings,
) -> None:
    topics = await _topics(service_settings)
    sent = _envelope(7, account="northwind")
    producer = create_producer(service_settings, client_id="test")
    await producer.start()
    try:
        await producer.send_and_wait(
            topics.events, sent.to_value(), key=sent.key, headers=sent.headers()
        )
    finally:
        await producer.stop()

    [record] = await read_records(service_settings.kafka_bootstrap_servers, topics.events, 1)
    assert Envelope.from_value(record.value) == sent
    assert record.key == b"tn_k:northwind"
    assert header_value(record.headers, "ce_id") == "evt-7"
    assert header_value(record.headers, "ce_type") == "dev.ampm.event.usage"
    assert header_value(record.headers, "ce_specversion") == "1.0"
    assert header_value(record.headers, "content-type") == "application/json"


async def test_consume_loop_dead_letters_poison_and_commits_past_it(
    service_settings: ServiceSettings,
) -> None:
    topics = await _topics(service_settings)
    producer = create_producer(service_settings, client_id="test")
    await producer.start()
    handled: list[str] = []

    async def handler(records: Sequence[ConsumerRecord]) -> list[DeadLetter]:
        letters = []
        for record in records:
            if record.value == b"poison":
                letters.append(DeadLetter(record, "value: not an envelope"))
            else:
                handled.append(Envelope.from_value(record.value).id)
        return letters

    group = f"{service_settings.topic_namespace}loop"
    try:
        good = _envelope(1)
        await producer.send_and_wait(topics.events, good.to_value(), key=good.key)
        await producer.send_and_wait(topics.events, b"poison", key=good.key)
        consumer = create_consumer(service_settings, topics.events, group_id=group, client_id="l")
        await consumer.start()
        loop = ConsumeLoop(
            consumer, handler, producer=producer, dead_letter_topic=topics.events_dlq, name="t"
        )
        task = asyncio.create_task(loop.run())
        try:
            [letter] = await read_records(
                service_settings.kafka_bootstrap_servers, topics.events_dlq, 1
            )
            async with asyncio.timeout(20):
                while True:
                    committed = [await consumer.committed(tp) for tp in consumer.assignment()]
                    if sum(c or 0 for c in committed) == 2:
                        break
                    await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await consumer.stop()
    finally:
        await producer.stop()
    assert handled == ["evt-1"]
    assert letter.value == b"poison"
    assert header_value(letter.headers, "ampm-dlq-reason") == "value: not an envelope"
    assert header_value(letter.headers, "ampm-dlq-topic") == topics.events


async def test_consume_loop_handles_partitions_concurrently_each_in_order(
    service_settings: ServiceSettings,
) -> None:
    topics = await _topics(service_settings)
    per_partition = 40
    producer = create_producer(service_settings, client_id="test")
    await producer.start()
    try:
        for n in range(per_partition):
            for partition in (0, 1):
                event = _envelope(n, account=f"acct-{partition}")
                await producer.send(
                    topics.events, event.to_value(), key=event.key, partition=partition
                )
        await producer.flush()
    finally:
        await producer.stop()

    started = {0: asyncio.Event(), 1: asyncio.Event()}
    seen: dict[int, list[int]] = {0: [], 1: []}

    async def handler(records: Sequence[ConsumerRecord]) -> list[DeadLetter]:
        partition = records[0].partition
        started[partition].set()
        # Both partitions' records come in the first poll; each partition's batch waits for the
        # other's to start, which one batch at a time never lets happen.
        await started[1 - partition].wait()
        seen[partition].extend(record.offset for record in records)
        await asyncio.sleep(0.01)
        return []

    consumer = create_consumer(
        service_settings,
        topics.events,
        group_id=f"{service_settings.topic_namespace}concurrent",
        client_id="c",
    )
    await consumer.start()
    producer = create_producer(service_settings, client_id="dlq")
    await producer.start()
    loop = ConsumeLoop(
        consumer, handler, producer=producer, dead_letter_topic=topics.events_dlq, name="t"
    )
    task = asyncio.create_task(loop.run())
    try:
        async with asyncio.timeout(20):
            while True:
                committed = {
                    tp.partition: await consumer.committed(tp) for tp in consumer.assignment()
                }
                if committed.get(0) == per_partition and committed.get(1) == per_partition:
                    break
                await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
    assert seen == {0: list(range(per_partition)), 1: list(range(per_partition))}
