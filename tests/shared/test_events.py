"""The envelope contract: encoding, headers, keys and rejection of malformed values (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from shared.events import (
    EVENT_ID_MAX_LENGTH,
    Envelope,
    EventKind,
    EventSource,
    MalformedEnvelope,
    header_value,
)

OCCURRED = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)


def activity_envelope() -> Envelope:
    return Envelope(
        id="evt-1",
        tenant_id="tn_a",
        account_id="northwind",
        person_id="p-7",
        kind=EventKind.ACTIVITY,
        name="new_contacts_identified",
        value=38,
        unit="contacts",
        properties={"category": "process"},
        occurred_at=OCCURRED,
        received_at=OCCURRED,
        source=EventSource.REST,
    )


def test_value_round_trip_keeps_every_field() -> None:
    envelope = activity_envelope()
    assert Envelope.from_value(envelope.to_value()) == envelope


def test_key_orders_an_accounts_events_together() -> None:
    assert activity_envelope().key == b"tn_a:northwind"


def test_unresolved_account_keys_by_tenant_only() -> None:
    envelope = activity_envelope().model_copy(update={"account_id": None})
    assert envelope.key == b"tn_a:"


def test_cloudevents_headers_describe_the_event() -> None:
    headers = activity_envelope().headers()
    assert header_value(headers, "ce_id") == "evt-1"
    assert header_value(headers, "ce_type") == "dev.ampm.event.activity"
    assert header_value(headers, "ce_source") == "/tenants/tn_a/rest"
    assert header_value(headers, "ce_specversion") == "1.0"
    assert header_value(headers, "content-type") == "application/json"
    assert datetime.fromisoformat(header_value(headers, "ce_time") or "") == OCCURRED


def test_value_defaults_to_one_and_id_is_generated() -> None:
    envelope = Envelope(
        tenant_id="tn_a",
        kind=EventKind.USAGE,
        name="transactions_processed",
        occurred_at=OCCURRED,
        received_at=OCCURRED,
        source=EventSource.KAFKA,
    )
    assert envelope.value == 1.0
    assert len(envelope.id) == 36


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(kind="purchase"), "kind"),
        (lambda d: d.update(value="lots"), "value"),
        (lambda d: d.pop("tenant_id"), "tenant_id"),
        (lambda d: d.update(occurred_at="2026-10-05T09:30:00"), "occurred_at"),
        (lambda d: d.update(id="x" * (EVENT_ID_MAX_LENGTH + 1)), "id"),
        (lambda d: d.update(surprise=True), "surprise"),
    ],
)
def test_malformed_envelope_names_the_field(mutate: object, field: str) -> None:
    data = orjson.loads(activity_envelope().to_value())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MalformedEnvelope) as caught:
        Envelope.from_value(orjson.dumps(data))
    assert caught.value.field == field
    assert caught.value.reason


def test_non_json_value_is_malformed() -> None:
    with pytest.raises(MalformedEnvelope) as caught:
        Envelope.from_value(b"{not json")
    assert caught.value.field == "value"
    assert "JSON" in caught.value.reason


def test_infinite_value_is_rejected() -> None:
    data = orjson.loads(activity_envelope().to_value())
    data["value"] = "Infinity"
    with pytest.raises(MalformedEnvelope) as caught:
        Envelope.from_value(orjson.dumps(data))
    assert caught.value.field == "value"


@pytest.mark.parametrize("field", ["id", "account_id", "person_id", "name", "unit"])
def test_nul_characters_are_rejected(field: str) -> None:
    data = orjson.loads(activity_envelope().to_value())
    data[field] = "north\x00wind"
    with pytest.raises(MalformedEnvelope) as caught:
        Envelope.from_value(orjson.dumps(data))
    assert caught.value.field == field
