"""The events-topic record of an envelope is exactly the shared wire encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiokafka.partitioner import murmur2

from services.ingest.publisher import DEFAULT_PARTITIONER, envelope_record
from shared.events import Envelope, EventKind, EventSource

RECEIVED = datetime(2026, 11, 26, 9, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "envelope",
    [
        Envelope(
            tenant_id="tn_acme",
            account_id="northwind",
            person_id="p-1",
            kind=EventKind.ACTIVITY,
            name="new_contacts_identified",
            value=38,
            unit="contacts",
            properties={"category": "process", "nested": {"list": [1, 2.5, None, "é"]}},
            occurred_at=RECEIVED - timedelta(minutes=5),
            received_at=RECEIVED,
            source=EventSource.REST,
        ),
        Envelope(
            tenant_id="tn_acme",
            kind=EventKind.PERFORMANCE,
            name="lead_conversion_rate",
            value=0.026,
            occurred_at=datetime(2026, 1, 1, tzinfo=timezone(timedelta(0))),
            received_at=RECEIVED.replace(microsecond=0),
            source=EventSource.SEGMENT,
        ),
    ],
)
def test_the_record_value_is_the_envelope_wire_encoding(envelope: Envelope) -> None:
    record = envelope_record("ampm.events", envelope)
    assert record.value == envelope.to_value()
    assert record.key == envelope.key
    assert record.headers == envelope.headers()


def test_the_partitioner_is_murmur2_like_the_java_client() -> None:
    key = b"tn_acme:northwind"
    expected = (murmur2(key) & 0x7FFFFFFF) % 6
    assert DEFAULT_PARTITIONER(key, list(range(6)), list(range(6))) == expected
