"""Asynchronous ingestion: the raw topic, consumed by a real ingest instance in a group."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from services.ingest.handlers import RAW_EVENT_ID_NAMESPACE
from shared.events import EventSource
from shared.tenancy.store import CreatedTenant
from shared.topics import RAW_WRITE_KEY_HEADER, Topics
from tests.ingest.conftest import ServeIngest
from tests.ingest.records import envelopes_of, headers_of
from tests.support.kafka import read_records

pytestmark = pytest.mark.integration

GOOD = {"id": "raw-1", "kind": "activity", "name": "social_campaigns_sent", "value": 4,
        "account_id": "northwind"}  # fmt: skip


async def committed_total(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


async def test_raw_records_are_normalised_published_or_dead_lettered_then_committed(
    serve_ingest: ServeIngest,
    tenant: CreatedTenant,
    topics: Topics,
    topic_namespace: str,
    kafka_bootstrap: str,
) -> None:
    key = tenant.write_key.plaintext.encode()
    no_id = {k: v for k, v in GOOD.items() if k != "id"}
    sends = [
        (orjson.dumps(GOOD), [(RAW_WRITE_KEY_HEADER, key)]),
        (orjson.dumps(no_id), [(RAW_WRITE_KEY_HEADER, key)]),
        (b"{not json", [(RAW_WRITE_KEY_HEADER, key)]),
        (orjson.dumps(GOOD), []),
        (orjson.dumps(GOOD), [(RAW_WRITE_KEY_HEADER, b"ampm_wk_forged")]),
        (orjson.dumps({**GOOD, "account_id": None}), [(RAW_WRITE_KEY_HEADER, key)]),
    ]
    async with serve_ingest(raw_consumer_enabled=True):
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            # One partition key, so the records keep their order and offsets are 0..5.
            for value, headers in sends:
                await producer.send_and_wait(
                    topics.ingest_raw, value=value, key=b"acme:northwind", headers=headers
                )
        finally:
            await producer.stop()

        events = await read_records(kafka_bootstrap, topics.events, 2)
        letters = await read_records(kafka_bootstrap, topics.events_dlq, 4)
        group = f"{topic_namespace}ampm-ingest-raw"
        async with asyncio.timeout(30):
            # The loop commits right after the dead letters are acknowledged: poll for it.
            while await committed_total(kafka_bootstrap, group) < len(sends):  # noqa: ASYNC110
                await asyncio.sleep(0.1)

    envelopes = envelopes_of(events)
    # Every record went to one raw partition (one key); the dead letters say which.
    assert headers_of(letters[0])["ampm-dlq-topic"] == topics.ingest_raw
    raw_partition = headers_of(letters[0])["ampm-dlq-partition"]
    derived = str(uuid.uuid5(RAW_EVENT_ID_NAMESPACE, f"{topics.ingest_raw}/{raw_partition}/1"))
    assert set(envelopes) == {"raw-1", derived}
    assert all(e.tenant_id == tenant.tenant.id for e in envelopes.values())
    assert all(e.source is EventSource.KAFKA for e in envelopes.values())
    assert envelopes["raw-1"].value == 4.0

    reasons = sorted(headers_of(letter)["ampm-dlq-reason"] for letter in letters)
    assert reasons == [
        "invalid_event: account_id: required for activity events",
        "unauthorized: ampm-write-key: the record carries no write key",
        "unauthorized: ampm-write-key: the write key is not valid",
        "unreadable_body: value: not valid JSON: unexpected character, expected a string key: "
        "line 1 column 2 (char 1)",
    ]
