"""The Segment-compatible API: each call type's mapping, dropped messages, skew and limits."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.errors import BodyShapeInvalid, TooLarge
from services.ingest.payloads import decode_body
from services.ingest.segment import (
    SegmentLimits,
    SegmentResult,
    SegmentType,
    body_write_key,
    corrected_timestamp,
    normalize_segment_batch,
    normalize_segment_call,
)
from shared.events import Envelope, EventKind, EventSource

RECEIVED = datetime(2026, 10, 5, 12, 0, 0, tzinfo=UTC)
TENANT = "tn_acme"
LIMITS = SegmentLimits()


def batch(*messages: object, **top: Any) -> SegmentResult:
    body = {"batch": list(messages), **top}
    return normalize_segment_batch(body, tenant_id=TENANT, received_at=RECEIVED, limits=LIMITS)


def accepted_one(message: dict[str, Any], **top: Any) -> Envelope:
    result = batch(message, **top)
    assert result.rejected == ()
    [envelope] = result.accepted
    return envelope


def test_track_maps_to_a_usage_event_with_numeric_value_account_and_person() -> None:
    envelope = accepted_one(
        {
            "type": "track",
            "messageId": "ajs-1",
            "userId": "u-1",
            "event": "transactions_processed",
            "properties": {"value": 240, "currency": "EUR"},
            "context": {"groupId": "northwind"},
        }
    )
    assert envelope.id == "ajs-1"
    assert (envelope.kind, envelope.name, envelope.value) == (
        EventKind.USAGE,
        "transactions_processed",
        240.0,
    )
    assert (envelope.account_id, envelope.person_id) == ("northwind", "u-1")
    assert envelope.properties["currency"] == "EUR"
    assert envelope.source is EventSource.SEGMENT
    assert envelope.tenant_id == TENANT
    assert envelope.received_at == RECEIVED


@pytest.mark.parametrize("value", ["240", True, None, {"n": 1}])
def test_track_value_that_is_not_a_number_counts_as_one(value: object) -> None:
    message = {"type": "track", "userId": "u", "event": "e", "properties": {"value": value}}
    assert accepted_one(message).value == 1.0


def test_track_account_falls_back_to_context_traits_group_id_and_accepts_numbers() -> None:
    message = {"type": "track", "userId": "u", "event": "e", "context": {"traits": {"groupId": 42}}}
    assert accepted_one(message).account_id == "42"


def test_track_without_account_is_still_produced() -> None:
    envelope = accepted_one({"type": "track", "anonymousId": "anon-9", "event": "e"})
    assert (envelope.account_id, envelope.person_id) == (None, "anon-9")


def test_identify_maps_to_person_identified_carrying_the_traits() -> None:
    traits = {"role": "sponsor", "title": "VP Sales", "manager": "u-0", "status": "active"}
    envelope = accepted_one(
        {"type": "identify", "userId": "u-1", "anonymousId": "anon-1", "traits": traits}
    )
    assert (envelope.kind, envelope.name) == (EventKind.LIFECYCLE, "person.identified")
    assert envelope.person_id == "u-1"
    assert {key: envelope.properties[key] for key in traits} == traits
    assert envelope.properties["_segment"]["anonymousId"] == "anon-1"


def test_group_maps_to_account_identified_linking_the_person_to_the_account() -> None:
    traits = {"name": "Northwind", "segment": "mid-market", "plan": "pro", "seats": 40}
    envelope = accepted_one(
        {
            "type": "group",
            "userId": "u-1",
            "groupId": "northwind",
            "traits": traits,
            "context": {"groupId": "ignored-for-group"},
        }
    )
    assert (envelope.kind, envelope.name) == (EventKind.LIFECYCLE, "account.identified")
    assert (envelope.account_id, envelope.person_id) == ("northwind", "u-1")
    assert {key: envelope.properties[key] for key in traits} == traits


@pytest.mark.parametrize(
    ("kind", "event_name"), [("page", "page_viewed"), ("screen", "screen_viewed")]
)
def test_page_and_screen_map_to_viewed_usage_events_with_the_page_name(
    kind: str, event_name: str
) -> None:
    envelope = accepted_one(
        {
            "type": kind,
            "userId": "u-1",
            "name": "Pricing",
            "category": "Docs",
            "properties": {"path": "/pricing"},
        }
    )
    assert (envelope.kind, envelope.name, envelope.value) == (EventKind.USAGE, event_name, 1.0)
    assert envelope.properties["name"] == "Pricing"
    assert envelope.properties["category"] == "Docs"
    assert envelope.properties["path"] == "/pricing"


def test_alias_maps_to_person_aliased_with_the_previous_id() -> None:
    envelope = accepted_one({"type": "alias", "userId": "u-1", "previousId": "anon-1"})
    assert (envelope.kind, envelope.name) == (EventKind.LIFECYCLE, "person.aliased")
    assert envelope.person_id == "u-1"
    assert envelope.properties["previous_id"] == "anon-1"


def test_batch_with_one_bad_message_drops_only_that_one_with_its_reason() -> None:
    bad = {"type": "track", "userId": "u-2", "properties": {}}  # no event name
    result = batch(
        {"type": "track", "userId": "u-1", "event": "a"},
        bad,
        {"type": "identify", "userId": "u-3"},
    )
    assert [envelope.name for envelope in result.accepted] == ["a", "person.identified"]
    [rejected] = result.rejected
    assert (rejected.index, rejected.field, rejected.code) == (1, "event", "invalid_event")
    assert rejected.message == bad
    assert "track" in rejected.reason


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "track", "event": "e"}, "userId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "userId"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "bogus", "userId": "u"}, "type"),
        ({"userId": "u"}, "type"),
        ({"type": "track", "userId": "u", "event": "e", "messageId": "m" * 100}, "messageId"),
        ({"type": "track", "userId": "u", "event": "e", "timestamp": "yesterday"}, "timestamp"),
        ("not an object", "message"),
    ],
)
def test_invalid_messages_are_rejected_naming_the_field(message: object, field: str) -> None:
    result = batch(message)
    assert result.accepted == ()
    assert [(rejected.index, rejected.field) for rejected in result.rejected] == [(0, field)]


def test_explicit_nulls_are_accepted_in_every_optional_field() -> None:
    message = {
        "type": "track",
        "event": "e",
        "anonymousId": "anon-1",
        **dict.fromkeys(
            [
                "userId",
                "groupId",
                "previousId",
                "name",
                "category",
                "properties",
                "traits",
                "context",
                "integrations",
                "messageId",
                "timestamp",
                "originalTimestamp",
                "sentAt",
                "writeKey",
            ]
        ),
    }
    result = batch(message, sentAt=None, context=None, integrations=None, writeKey=None)
    [envelope] = result.accepted
    assert (envelope.person_id, envelope.account_id, envelope.value) == ("anon-1", None, 1.0)
    assert envelope.occurred_at == RECEIVED  # no client time at all
    assert envelope.id  # generated


def test_unknown_fields_that_sdks_send_are_allowed() -> None:
    message = {"type": "track", "userId": "u", "event": "e", "channel": "server", "_metadata": {}}
    assert accepted_one(message, extra_top_level={"x": 1}).name == "e"


def test_skew_correction_uses_the_device_gap_between_original_timestamp_and_sent_at() -> None:
    # The device clock is 10 min fast. It says the event happened at 12:08:00 and the batch
    # left at 12:09:30, i.e. 90 s later. The server received it at 12:00:00, so the event
    # happened 90 s before that: 12:00:00 - 0:01:30 = 11:58:30.
    envelope = accepted_one(
        {
            "type": "track",
            "userId": "u",
            "event": "e",
            "originalTimestamp": "2026-10-05T12:08:00Z",
            "sentAt": "2026-10-05T12:09:30Z",
        }
    )
    assert envelope.occurred_at == datetime(2026, 10, 5, 11, 58, 30, tzinfo=UTC)
    assert envelope.properties["_segment"] == {
        "type": "track",
        "originalTimestamp": "2026-10-05T12:08:00Z",
        "sentAt": "2026-10-05T12:09:30Z",
        "receivedAt": "2026-10-05T12:00:00Z",
        "anonymousId": None,
    }


def test_skew_correction_takes_batch_sent_at_and_server_side_timestamp() -> None:
    # Server-side SDKs send ``timestamp`` (no originalTimestamp) and a batch-level sentAt.
    # Device gap: 11:40:00 -> 11:45:00 is 5 min, so 12:00:00 - 0:05:00 = 11:55:00.
    envelope = accepted_one(
        {"type": "track", "userId": "u", "event": "e", "timestamp": "2026-10-05T11:40:00Z"},
        sentAt="2026-10-05T11:45:00Z",
    )
    assert envelope.occurred_at == datetime(2026, 10, 5, 11, 55, tzinfo=UTC)


def test_message_sent_at_wins_over_the_batch_sent_at() -> None:
    # Message gap 11:00:00 -> 11:00:20 is 20 s: 12:00:00 - 0:00:20 = 11:59:40.
    envelope = accepted_one(
        {
            "type": "track",
            "userId": "u",
            "event": "e",
            "originalTimestamp": "2026-10-05T11:00:00Z",
            "sentAt": "2026-10-05T11:00:20Z",
        },
        sentAt="2026-10-05T09:00:00Z",
    )
    assert envelope.occurred_at == datetime(2026, 10, 5, 11, 59, 40, tzinfo=UTC)


def test_without_sent_at_the_client_time_is_kept_and_naive_times_are_utc() -> None:
    envelope = accepted_one(
        {"type": "track", "userId": "u", "event": "e", "timestamp": "2026-09-01T08:00:00"}
    )
    assert envelope.occurred_at == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def test_corrected_timestamp_formula() -> None:
    original = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    sent = original + timedelta(seconds=7)
    assert corrected_timestamp(
        received_at=RECEIVED, sent_at=sent, original_timestamp=original
    ) == RECEIVED - timedelta(seconds=7)
    assert corrected_timestamp(received_at=RECEIVED, sent_at=sent, original_timestamp=None) == (
        RECEIVED
    )


def test_message_over_the_per_message_limit_is_dropped_and_the_rest_kept() -> None:
    small = {"type": "track", "userId": "u", "event": "small"}
    big = {"type": "track", "userId": "u", "event": "big", "properties": {"blob": "x" * 33_000}}
    result = batch(small, big)
    assert [envelope.name for envelope in result.accepted] == ["small"]
    [rejected] = result.rejected
    assert (rejected.index, rejected.code) == (1, "payload_too_large")


def test_per_message_limit_is_inclusive_of_the_compact_json_size() -> None:
    message = {"type": "track", "userId": "u", "event": "é"}
    size = len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())
    at_limit = normalize_segment_batch(
        {"batch": [message]},
        tenant_id=TENANT,
        received_at=RECEIVED,
        limits=SegmentLimits(max_message_bytes=size),
    )
    below = normalize_segment_batch(
        {"batch": [message]},
        tenant_id=TENANT,
        received_at=RECEIVED,
        limits=SegmentLimits(max_message_bytes=size - 1),
    )
    assert (len(at_limit.accepted), len(below.accepted)) == (1, 0)


def test_request_over_500_kib_after_decompression_is_too_large() -> None:
    assert LIMITS.max_request_bytes == 500 * 1024
    body = json.dumps({"batch": [], "pad": "x" * 500 * 1024}).encode()
    with pytest.raises(TooLarge):
        decode_body(body, content_encoding=None, max_bytes=LIMITS.max_request_bytes)
    with pytest.raises(TooLarge):
        decode_body(
            gzip.compress(body), content_encoding="gzip", max_bytes=LIMITS.max_request_bytes
        )


@pytest.mark.parametrize("body", [[], {"batch": {"type": "track"}}, {"messages": []}])
def test_body_that_is_no_batch_is_refused(body: object) -> None:
    with pytest.raises(BodyShapeInvalid):
        normalize_segment_batch(body, tenant_id=TENANT, received_at=RECEIVED, limits=LIMITS)


def test_single_call_takes_its_type_from_the_endpoint() -> None:
    result = normalize_segment_call(
        {"type": "identify", "userId": "u", "event": "Signed Up"},
        SegmentType.TRACK,
        tenant_id=TENANT,
        received_at=RECEIVED,
        limits=LIMITS,
    )
    [envelope] = result.accepted
    assert (envelope.kind, envelope.name) == (EventKind.USAGE, "Signed Up")


def test_single_call_with_a_bad_message_is_rejected_not_raised() -> None:
    result = normalize_segment_call(
        {"userId": "u"}, SegmentType.GROUP, tenant_id=TENANT, received_at=RECEIVED, limits=LIMITS
    )
    assert result.accepted == ()
    assert [(rejected.index, rejected.field) for rejected in result.rejected] == [(0, "groupId")]


def test_body_write_key_reads_only_a_string_write_key() -> None:
    assert body_write_key({"writeKey": "ampm_wk_1", "batch": []}) == "ampm_wk_1"
    assert body_write_key({"writeKey": None}) is None
    assert body_write_key([]) is None


def test_client_time_with_an_offset_is_stored_in_utc() -> None:
    # 10:00 at +02:00 is 08:00 UTC.
    envelope = accepted_one(
        {"type": "track", "userId": "u", "event": "e", "timestamp": "2026-09-01T10:00:00+02:00"}
    )
    assert envelope.occurred_at == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert envelope.occurred_at.tzinfo == UTC


def test_a_corrected_time_outside_the_window_drops_the_message_naming_the_timestamp() -> None:
    # A device clock two days fast is corrected by sentAt: kept. A timestamp two days ahead of
    # the server with no sentAt to correct it: dropped with the reason.
    ahead = (RECEIVED + timedelta(days=2)).isoformat()
    fast_clock = {
        "type": "track",
        "event": "Report Viewed",
        "userId": "u1",
        "originalTimestamp": ahead,
        "sentAt": (RECEIVED + timedelta(days=2, seconds=1)).isoformat(),
    }
    future = {"type": "track", "event": "Report Viewed", "userId": "u2", "timestamp": ahead}
    ancient = {**future, "userId": "u3", "timestamp": "1999-12-31T23:59:59Z"}
    result = batch(fast_clock, future, ancient)
    assert [e.person_id for e in result.accepted] == ["u1"]
    assert [(r.index, r.field) for r in result.rejected] == [
        (1, "originalTimestamp"),
        (2, "originalTimestamp"),
    ]
    assert "ahead of the server's clock" in result.rejected[0].reason
    assert "before 2000-01-01" in result.rejected[1].reason
