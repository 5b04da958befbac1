"""The native event API: AM/PM examples, the account rule, atomic batches and the Kafka path."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.ingest.errors import (
    BatchInvalid,
    BodyShapeInvalid,
    InvalidEvent,
    TooLarge,
    UnreadableBody,
)
from services.ingest.native import (
    NativeLimits,
    fresh_event_ids,
    normalize_kafka_value,
    normalize_native,
    normalize_native_item,
)
from shared.events import Envelope, EventKind, EventSource

NOW = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
TENANT = "tn_acme"
LIMITS = NativeLimits()


def one(body: dict[str, Any]) -> Envelope:
    [envelope] = normalize_native(body, TENANT, NOW, LIMITS)
    return envelope


def reasons(exc: InvalidEvent) -> set[tuple[int | None, str]]:
    return {(error["index"], error["field"]) for error in exc.errors}


def test_usage_example_transactions_processed_keeps_its_value() -> None:
    envelope = one(
        {"kind": "usage", "name": "transactions_processed", "account_id": "northwind", "value": 240}
    )
    assert envelope.kind is EventKind.USAGE
    assert envelope.name == "transactions_processed"
    assert envelope.value == 240.0
    assert envelope.account_id == "northwind"
    assert envelope.tenant_id == TENANT
    assert envelope.source is EventSource.REST
    assert envelope.occurred_at == NOW  # defaulted to the passed-in clock
    assert envelope.received_at == NOW
    assert envelope.id  # generated when absent


def test_activity_example_new_contacts_identified_carries_unit_and_category() -> None:
    envelope = one(
        {
            "id": "evt-42",
            "kind": "activity",
            "name": "new_contacts_identified",
            "account_id": "northwind",
            "person_id": "p-7",
            "value": 38,
            "unit": "contacts",
            "occurred_at": "2026-10-04T17:00:00Z",
            "properties": {"category": "process"},
        }
    )
    assert envelope.id == "evt-42"
    assert envelope.kind is EventKind.ACTIVITY
    assert (envelope.value, envelope.unit) == (38.0, "contacts")
    assert envelope.properties == {"category": "process"}
    assert envelope.person_id == "p-7"
    assert envelope.occurred_at == datetime(2026, 10, 4, 17, 0, tzinfo=UTC)


def test_behaviour_activity_cold_calls_made_keeps_zero_rather_than_defaulting_to_one() -> None:
    envelope = one(
        {"kind": "activity", "name": "cold_calls_made", "account_id": "northwind", "value": 0}
    )
    assert envelope.value == 0.0


def test_performance_example_lead_conversion_rate_keeps_ratio() -> None:
    envelope = one(
        {
            "kind": "performance",
            "name": "lead_conversion_rate",
            "account_id": "northwind",
            "value": 0.026,
            "unit": "ratio",
        }
    )
    assert envelope.kind is EventKind.PERFORMANCE
    assert (envelope.value, envelope.unit) == (0.026, "ratio")


def test_lifecycle_stakeholder_departed_carries_the_role() -> None:
    envelope = one(
        {
            "kind": "lifecycle",
            "name": "stakeholder.departed",
            "account_id": "northwind",
            "person_id": "p-sponsor",
            "properties": {"role": "sponsor"},
        }
    )
    assert envelope.kind is EventKind.LIFECYCLE
    assert envelope.properties["role"] == "sponsor"
    assert envelope.value == 1.0


@pytest.mark.parametrize("name", ["org.reorganized", "blocker.reported", "adoption_owner.assigned"])
def test_account_level_lifecycle_examples_are_accepted_with_an_account(name: str) -> None:
    envelope = one({"kind": "lifecycle", "name": name, "account_id": "northwind"})
    assert (envelope.kind, envelope.name) == (EventKind.LIFECYCLE, name)


@pytest.mark.parametrize("name", ["org.reorganized", "blocker.reported", "adoption_owner.assigned"])
def test_account_level_lifecycle_without_account_is_refused_even_with_a_person(name: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": "lifecycle", "name": name, "person_id": "p-7"})
    assert reasons(caught.value) == {(None, "account_id")}


@pytest.mark.parametrize("name", ["person.identified", "person.aliased", "stakeholder.departed"])
def test_person_level_lifecycle_may_omit_the_account_when_it_names_a_person(name: str) -> None:
    envelope = one({"kind": "lifecycle", "name": name, "person_id": "p-7"})
    assert (envelope.account_id, envelope.person_id) == (None, "p-7")


def test_person_level_lifecycle_without_account_or_person_is_refused() -> None:
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": "lifecycle", "name": "stakeholder.departed"})
    assert reasons(caught.value) == {(None, "account_id")}


@pytest.mark.parametrize("kind", ["activity", "performance"])
def test_activity_and_performance_need_an_account(kind: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": kind, "name": "x", "person_id": "p-7"})
    assert reasons(caught.value) == {(None, "account_id")}


def test_usage_without_account_is_accepted() -> None:
    assert one({"kind": "usage", "name": "report_exported"}).account_id is None


def test_batch_with_two_bad_items_reports_both_and_returns_nothing() -> None:
    body = {
        "events": [
            {"kind": "usage", "name": "transactions_processed", "value": 240},
            {"kind": "activity", "name": "cold_calls_made", "value": 0},  # no account_id
            {"kind": "usage", "name": "report_exported"},
            {"kind": "purchase", "name": "x", "account_id": "northwind"},  # unknown kind
        ]
    }
    with pytest.raises(BatchInvalid) as caught:
        normalize_native(body, TENANT, NOW, LIMITS)
    assert reasons(caught.value) == {(1, "account_id"), (3, "kind")}
    by_index = {error["index"]: error["reason"] for error in caught.value.errors}
    assert "activity" in by_index[1]
    assert "usage" in by_index[3]  # pydantic lists the allowed kinds


def test_valid_batch_keeps_the_order_of_its_items() -> None:
    body = {"events": [{"kind": "usage", "name": f"e{i}"} for i in range(3)]}
    names = [envelope.name for envelope in normalize_native(body, TENANT, NOW, LIMITS)]
    assert names == ["e0", "e1", "e2"]


def test_batch_over_the_event_limit_is_too_large() -> None:
    body = {"events": [{"kind": "usage", "name": "e"}] * 3}
    with pytest.raises(TooLarge) as caught:
        normalize_native(body, TENANT, NOW, NativeLimits(max_events=2))
    assert caught.value.limit == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"kind": "usage", "name": "e"}], "body"),
        ({"events": []}, "events"),
        ({"events": {"kind": "usage"}}, "events"),
        ({"events": [], "tenant": "other"}, "tenant"),
    ],
)
def test_bodies_that_are_neither_an_event_nor_a_batch_are_refused(body: object, field: str) -> None:
    with pytest.raises(BodyShapeInvalid) as caught:
        normalize_native(body, TENANT, NOW, LIMITS)
    assert caught.value.field == field


def test_explicit_nulls_take_the_defaults() -> None:
    envelope = one(
        {
            "id": None,
            "kind": "usage",
            "name": "transactions_processed",
            "account_id": None,
            "person_id": None,
            "value": None,
            "unit": None,
            "occurred_at": None,
            "properties": None,
        }
    )
    assert (envelope.value, envelope.properties, envelope.occurred_at) == (1.0, {}, NOW)


@pytest.mark.parametrize("value", ["240", True, math.inf, math.nan])
def test_value_must_be_a_finite_json_number(value: object) -> None:
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": "usage", "name": "e", "value": value})
    assert reasons(caught.value) == {(None, "value")}


def test_unknown_item_field_is_refused_so_typos_surface() -> None:
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": "activity", "name": "e", "account_id": "a", "acount_id": "a"})
    assert reasons(caught.value) == {(None, "acount_id")}


def test_event_id_may_have_99_characters_but_not_100() -> None:
    assert one({"id": "x" * 99, "kind": "usage", "name": "e"}).id == "x" * 99
    with pytest.raises(InvalidEvent) as caught:
        one({"id": "x" * 100, "kind": "usage", "name": "e"})
    assert reasons(caught.value) == {(None, "id")}


def test_occurred_at_needs_a_timezone_and_is_stored_in_utc() -> None:
    # 10:30 at +01:00 is 09:30 UTC.
    envelope = one({"kind": "usage", "name": "e", "occurred_at": "2026-10-05T10:30:00+01:00"})
    assert envelope.occurred_at == datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() is not None
    assert envelope.occurred_at.tzinfo == UTC
    with pytest.raises(InvalidEvent) as caught:
        one({"kind": "usage", "name": "e", "occurred_at": "2026-10-05T10:30:00"})
    assert reasons(caught.value) == {(None, "occurred_at")}


def test_single_item_reports_every_problem_not_only_the_first() -> None:
    with pytest.raises(InvalidEvent) as caught:
        normalize_native_item({"kind": "nope", "value": "x"}, tenant_id=TENANT, now=NOW)
    assert reasons(caught.value) == {(None, "kind"), (None, "name"), (None, "value")}


def test_kafka_value_is_validated_like_rest_and_marked_kafka() -> None:
    value = orjson.dumps(
        {"kind": "activity", "name": "new_contacts_identified", "account_id": "nw", "value": 38}
    )
    envelope = normalize_kafka_value(value, tenant_id=TENANT, now=NOW, max_bytes=1024)
    assert envelope.source is EventSource.KAFKA
    assert envelope.value == 38.0
    assert Envelope.from_value(envelope.to_value()) == envelope


def test_kafka_value_that_breaks_the_account_rule_is_invalid() -> None:
    value = orjson.dumps({"kind": "activity", "name": "x"})
    with pytest.raises(InvalidEvent) as caught:
        normalize_kafka_value(value, tenant_id=TENANT, now=NOW, max_bytes=1024)
    assert reasons(caught.value) == {(None, "account_id")}


@pytest.mark.parametrize("value", [None, b"{not json", b"\xff\xfe"])
def test_kafka_value_that_is_missing_or_not_json_is_unreadable(value: bytes | None) -> None:
    with pytest.raises(UnreadableBody) as caught:
        normalize_kafka_value(value, tenant_id=TENANT, now=NOW, max_bytes=1024)
    assert caught.value.field == "value"


def test_kafka_value_over_the_limit_is_too_large() -> None:
    value = orjson.dumps({"kind": "usage", "name": "e"})
    with pytest.raises(TooLarge):
        normalize_kafka_value(value, tenant_id=TENANT, now=NOW, max_bytes=len(value) - 1)


def test_a_raw_record_without_id_gets_the_stable_id_its_caller_passes() -> None:
    value = b'{"kind": "usage", "name": "report_exported"}'
    envelope = normalize_kafka_value(
        value, tenant_id="tn_acme", now=NOW, max_bytes=1_000, default_id="raw-0-7"
    )
    assert envelope.id == "raw-0-7"


def test_fresh_event_ids_are_distinct_uuid4_strings() -> None:
    ids = fresh_event_ids(500)
    assert len(set(ids)) == 500
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("1970-01-01T00:00:00Z", "before 2000-01-01"),
        ("2026-10-06T09:30:01Z", "ahead of the server's clock"),
    ],
)
def test_an_occurred_at_outside_the_window_is_refused_by_name(
    occurred_at: str, reason: str
) -> None:
    event = {"kind": "usage", "name": "report.viewed", "occurred_at": occurred_at}
    with pytest.raises(BatchInvalid) as refused:
        normalize_native({"events": [event, {**event, "occurred_at": None}]}, TENANT, NOW, LIMITS)
    [error] = refused.value.errors
    assert (error["index"], error["field"]) == (0, "occurred_at")
    assert reason in error["reason"]


def test_an_occurred_at_up_to_a_day_ahead_or_from_2000_is_accepted() -> None:
    for occurred_at in ("2026-10-06T09:30:00Z", "2000-01-01T00:00:00Z"):
        event = {"kind": "usage", "name": "report.viewed", "occurred_at": occurred_at}
        assert one(event).occurred_at == datetime.fromisoformat(occurred_at)
