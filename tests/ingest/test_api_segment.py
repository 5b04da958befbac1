"""The Segment-compatible API over real HTTP, read back from the events and dead-letter topics."""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
import segment.analytics as analytics
from segment.analytics.request import APIError

from shared.events import EventKind, EventSource
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.ingest.conftest import ServeIngest
from tests.ingest.records import envelopes_of, headers_of, json_of, topic_size
from tests.support.kafka import read_records

pytestmark = pytest.mark.integration


def basic(tenant: CreatedTenant) -> dict[str, str]:
    token = base64.b64encode(f"{tenant.write_key.plaintext}:".encode()).decode()
    return {"Authorization": f"Basic {token}"}


CALLS: list[tuple[str, dict[str, Any], EventKind, str]] = [
    ("track", {"event": "report_exported", "properties": {"value": 3}}, EventKind.USAGE,
     "report_exported"),
    ("identify", {"traits": {"role": "sponsor"}}, EventKind.LIFECYCLE, "person.identified"),
    ("group", {"groupId": "northwind", "traits": {"plan": "pro"}}, EventKind.LIFECYCLE,
     "account.identified"),
    ("page", {"name": "Pipeline"}, EventKind.USAGE, "page_viewed"),
    ("screen", {"name": "Home"}, EventKind.USAGE, "screen_viewed"),
    ("alias", {"previousId": "anon-1"}, EventKind.LIFECYCLE, "person.aliased"),
]  # fmt: skip


async def test_each_call_endpoint_publishes_its_mapped_event(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    for call, fields, _kind, _name in CALLS:
        message = {"messageId": f"m-{call}", "userId": "u-1", **fields}
        response = await client.post(f"/v1/{call}", json=message, headers=basic(tenant))
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}
    envelopes = envelopes_of(await read_records(kafka_bootstrap, topics.events, len(CALLS)))
    for call, _fields, kind, name in CALLS:
        envelope = envelopes[f"m-{call}"]
        assert (envelope.kind, envelope.name) == (kind, name)
        assert (envelope.tenant_id, envelope.source) == (tenant.tenant.id, EventSource.SEGMENT)
        assert envelope.properties["_segment"]["type"] == call
    assert envelopes["m-track"].value == 3.0
    assert envelopes["m-group"].account_id == "northwind"


async def test_the_write_key_may_come_in_the_body_and_explicit_nulls_are_accepted(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    nulls = dict.fromkeys(
        ["anonymousId", "properties", "context", "integrations", "timestamp", "sentAt",
         "originalTimestamp", "groupId", "previousId", "name", "category", "traits"]
    )  # fmt: skip
    message = {"type": "track", "event": "x", "userId": "u", "messageId": "null-1", **nulls}
    body = {"batch": [message], "writeKey": tenant.write_key.plaintext, "sentAt": None}
    response = await client.post("/v1/batch", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    [record] = await read_records(kafka_bootstrap, topics.events, 1)
    assert envelopes_of([record])["null-1"].tenant_id == tenant.tenant.id


@pytest.mark.parametrize(
    ("headers", "body_key"),
    [
        ({}, None),
        ({}, "ampm_wk_unknown"),
        ({"Authorization": "Basic " + base64.b64encode(b"ampm_wk_unknown:").decode()}, None),
    ],
    ids=["none", "wrong-body-key", "wrong-basic"],
)
async def test_a_missing_or_wrong_write_key_is_401_json(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body_key: str | None,
    topics: Topics,
    kafka_bootstrap: str,
) -> None:
    body = {"batch": [{"type": "track", "event": "x", "userId": "u"}], "writeKey": body_key}
    response = await client.post("/v1/batch", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.json()["code"] == "unauthorized" and response.json()["message"]
    assert await topic_size(kafka_bootstrap, topics.events) == 0


async def test_the_header_key_wins_so_a_body_cannot_claim_another_tenant(
    client: httpx.AsyncClient,
    tenant: CreatedTenant,
    other_tenant: CreatedTenant,
    topics: Topics,
    kafka_bootstrap: str,
) -> None:
    body = {
        "batch": [{"type": "track", "event": "x", "userId": "u", "messageId": "who"}],
        "writeKey": other_tenant.write_key.plaintext,
    }
    assert (await client.post("/v1/batch", json=body, headers=basic(tenant))).status_code == 200
    [record] = await read_records(kafka_bootstrap, topics.events, 1)
    assert envelopes_of([record])["who"].tenant_id == tenant.tenant.id


async def test_a_bad_message_is_dropped_to_the_dead_letter_topic_with_its_reason(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    good = [{"type": "track", "event": "ok", "userId": "u", "messageId": f"g{i}"} for i in (0, 1)]
    bad = {"type": "track", "userId": "u", "messageId": "bad"}
    body = {"batch": [good[0], bad, good[1]]}
    response = await client.post("/v1/batch", json=body, headers=basic(tenant))
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "rejected": [
            {"index": 1, "code": "invalid_event", "field": "event", "reason": "required for track"}
        ],
    }
    envelopes = envelopes_of(await read_records(kafka_bootstrap, topics.events, 2))
    assert set(envelopes) == {"g0", "g1"}
    [letter] = await read_records(kafka_bootstrap, topics.events_dlq, 1)
    assert json_of(letter) == bad
    headers = headers_of(letter)
    assert headers["ampm-dlq-reason"] == "invalid_event: event: required for track"
    assert (headers["ampm-dlq-source"], headers["ampm-dlq-tenant"]) == ("segment", tenant.tenant.id)
    assert headers["ampm-dlq-topic"] == "/v1/batch"


async def test_clock_skew_is_corrected_through_the_api(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    # The client's clock is 2 hours fast; the event happened 30 s before it was sent.
    client_now = datetime.now(UTC) + timedelta(hours=2)
    message = {
        "type": "track",
        "event": "x",
        "userId": "u",
        "messageId": "skewed",
        "originalTimestamp": (client_now - timedelta(seconds=30)).isoformat(),
    }
    before = datetime.now(UTC)
    body = {"batch": [message], "sentAt": client_now.isoformat()}
    assert (await client.post("/v1/batch", json=body, headers=basic(tenant))).status_code == 200
    after = datetime.now(UTC)
    [record] = await read_records(kafka_bootstrap, topics.events, 1)
    envelope = envelopes_of([record])["skewed"]
    assert envelope.occurred_at == envelope.received_at - timedelta(seconds=30)
    assert before <= envelope.received_at <= after


async def test_gzip_bodies_are_accepted(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    body = orjson.dumps({"batch": [{"type": "identify", "userId": "u", "messageId": "gz"}]})
    headers = {**basic(tenant), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = await client.post("/v1/batch", content=gzip.compress(body), headers=headers)
    assert response.status_code == 200, response.text
    [record] = await read_records(kafka_bootstrap, topics.events, 1)
    assert "gz" in envelopes_of([record])


@pytest.fixture
async def small_limits(serve_ingest: ServeIngest) -> AsyncIterator[httpx.AsyncClient]:
    limits = {"segment_max_message_bytes": 500, "segment_max_request_bytes": 2_000}
    async with serve_ingest(**limits) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_limits_are_json_errors_or_dead_letters(
    small_limits: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    auth = basic(tenant)
    big_message = {"type": "track", "event": "x", "userId": "u", "properties": {"p": "x" * 600}}
    response = await small_limits.post("/v1/batch", json={"batch": [big_message]}, headers=auth)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["code"] == "payload_too_large"
    [letter] = await read_records(kafka_bootstrap, topics.events_dlq, 1)
    assert headers_of(letter)["ampm-dlq-code"] == "payload_too_large"

    big_request = {"batch": [{**big_message, "properties": {"p": "x" * 300}}] * 8}
    bomb = gzip.compress(b'{"batch": [' + b" " * 2_000_000 + b"]}")
    cases = [
        await small_limits.post("/v1/batch", json=big_request, headers=auth),
        await small_limits.post(
            "/v1/batch", content=bomb, headers={**auth, "Content-Encoding": "gzip"}
        ),
    ]
    for response in cases:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert response.json()["error"]["message"]
    invalid = await small_limits.post("/v1/batch", content=b"{not json", headers=auth)
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "unreadable_body"
    assert await topic_size(kafka_bootstrap, topics.events) == 0


async def test_the_segment_python_library_works_unchanged(
    ingest_url: str, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    def send() -> None:
        errors: list[Exception] = []
        sdk = analytics.Client(
            tenant.write_key.plaintext,
            host=ingest_url,
            sync_mode=True,
            gzip=True,
            max_retries=1,
            on_error=lambda error, _batch: errors.append(error),
        )
        sdk.identify("u-7", {"role": "adoption_owner"}, context={"groupId": "northwind"})
        sdk.group("u-7", "northwind", {"plan": "pro"})
        sdk.track("u-7", "transactions_processed", {"value": 240}, context={"groupId": "northwind"})
        sdk.flush()
        assert errors == []

    # The SDK blocks, and the server runs on this event loop: send from a thread.
    await asyncio.to_thread(send)
    envelopes = list(envelopes_of(await read_records(kafka_bootstrap, topics.events, 3)).values())
    by_name = {e.name: e for e in envelopes}
    assert set(by_name) == {"person.identified", "account.identified", "transactions_processed"}
    assert all(e.tenant_id == tenant.tenant.id for e in envelopes)
    assert by_name["transactions_processed"].value == 240.0
    assert by_name["transactions_processed"].account_id == "northwind"
    assert by_name["person.identified"].properties["role"] == "adoption_owner"


async def test_the_segment_library_reads_our_error_for_a_bad_write_key(ingest_url: str) -> None:
    def send() -> APIError:
        sdk = analytics.Client(
            "ampm_wk_not-a-real-key", host=ingest_url, sync_mode=True, max_retries=0
        )
        with pytest.raises(APIError) as refused:  # sync mode raises what it read
            sdk.track("u-7", "transactions_processed", {"value": 1})
        return refused.value

    error = await asyncio.to_thread(send)
    # Segment's own body shape at the top, so the SDK reports our code, not "unknown".
    assert (error.status, error.code) == (401, "unauthorized")
    assert "write key" in error.message
