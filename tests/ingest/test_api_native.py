"""The native API over real HTTP, read back from the real events topic."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import murmur2

from shared.events import EventKind, EventSource
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.ingest.conftest import ServeIngest
from tests.ingest.records import envelopes_of, headers_of, topic_size
from tests.support.kafka import read_records

pytestmark = pytest.mark.integration

THE_EXAMPLES: list[dict[str, Any]] = [
    {"id": "ev-usage", "kind": "usage", "name": "transactions_processed", "value": 240,
     "account_id": "northwind"},
    {"id": "ev-contacts", "kind": "activity", "name": "new_contacts_identified", "value": 38,
     "unit": "contacts", "account_id": "northwind", "properties": {"category": "process"}},
    {"id": "ev-cold-calls", "kind": "activity", "name": "cold_calls_made", "value": 0,
     "account_id": "northwind", "properties": {"category": "behaviour"}},
    {"id": "ev-conversion", "kind": "performance", "name": "lead_conversion_rate",
     "value": 0.026, "unit": "ratio", "account_id": "northwind"},
    {"id": "ev-departed", "kind": "lifecycle", "name": "stakeholder.departed",
     "account_id": "northwind", "person_id": "p-ceo", "properties": {"role": "sponsor"}},
    {"id": "ev-reorg", "kind": "lifecycle", "name": "org.reorganized", "account_id": "northwind"},
    {"id": "ev-blocker", "kind": "lifecycle", "name": "blocker.reported",
     "account_id": "northwind", "properties": {"blocker": "no CRM access"}},
    {"id": "ev-owner", "kind": "lifecycle", "name": "adoption_owner.assigned",
     "account_id": "northwind", "person_id": "p-ops"},
]  # fmt: skip


def bearer(tenant: CreatedTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.write_key.plaintext}"}


async def test_the_examples_reach_the_events_topic_as_envelopes_with_cloudevents_headers(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    before = datetime.now(UTC)
    response = await client.post(
        "/v1/events", json={"events": THE_EXAMPLES}, headers=bearer(tenant)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 8, "ids": [e["id"] for e in THE_EXAMPLES]}

    records = await read_records(kafka_bootstrap, topics.events, 8)
    envelopes = envelopes_of(records)
    assert set(envelopes) == {e["id"] for e in THE_EXAMPLES}
    for sent in THE_EXAMPLES:
        envelope = envelopes[sent["id"]]
        assert envelope.tenant_id == tenant.tenant.id
        assert (envelope.kind.value, envelope.name) == (sent["kind"], sent["name"])
        assert envelope.value == sent.get("value", 1.0)
        assert envelope.unit == sent.get("unit")
        assert envelope.properties == sent.get("properties", {})
        assert envelope.account_id == "northwind"
        assert envelope.person_id == sent.get("person_id")
        assert envelope.source is EventSource.REST
        assert before <= envelope.occurred_at <= envelope.received_at <= datetime.now(UTC)
    assert envelopes["ev-conversion"].value == 0.026
    assert envelopes["ev-cold-calls"].value == 0.0
    assert envelopes["ev-departed"].properties["role"] == "sponsor"

    for record in records:
        headers = headers_of(record)
        envelope = envelopes[headers["ce_id"]]
        assert headers["ce_type"] == f"dev.ampm.event.{envelope.kind.value}"
        assert headers["ce_source"] == f"/tenants/{tenant.tenant.id}/rest"
        assert headers["ce_specversion"] == "1.0"
        assert headers["content-type"] == "application/json"
        assert record.key == f"{tenant.tenant.id}:northwind".encode()
        # The partition the Java client's murmur2 picks, so every producer agrees.
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 3


async def test_a_single_event_gets_an_id_and_a_default_time_when_absent(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    response = await client.post(
        "/v1/events",
        json={"kind": "usage", "name": "report_exported", "occurred_at": None},
        headers=bearer(tenant),
    )
    assert response.status_code == 200, response.text
    [event_id] = response.json()["ids"]
    [record] = await read_records(kafka_bootstrap, topics.events, 1)
    envelope = envelopes_of([record])[event_id]
    assert (envelope.kind, envelope.value, envelope.account_id) == (EventKind.USAGE, 1.0, None)
    assert abs(envelope.occurred_at - envelope.received_at) < timedelta(seconds=1)


async def test_a_batch_with_bad_items_is_refused_whole_listing_every_bad_item(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    events = [
        THE_EXAMPLES[0],
        {"kind": "activity", "name": "new_contacts_identified", "value": 3},
        {"kind": "usage", "name": "x", "value": "240"},
        {"kind": "usage", "name": "x", "id": "i" * 100},
    ]
    response = await client.post("/v1/events", json={"events": events}, headers=bearer(tenant))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "batch_invalid"
    assert [(e["index"], e["field"]) for e in error["errors"]] == [
        (1, "account_id"),
        (2, "value"),
        (3, "id"),
    ]
    assert all(e["reason"] for e in error["errors"])
    assert await topic_size(kafka_bootstrap, topics.events) == 0


async def test_a_single_invalid_event_is_422_naming_the_field(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    response = await client.post(
        "/v1/events", json={"kind": "mood", "name": "x"}, headers=bearer(tenant)
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "kind"


async def test_a_nul_in_a_property_key_is_422_naming_its_json_path(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    event = {"kind": "usage", "name": "x", "properties": {"context": {"pl\u0000an": "pro"}}}
    response = await client.post("/v1/events", json={"events": [event]}, headers=bearer(tenant))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "properties.context.plan"


async def test_a_form_body_is_415_naming_the_content_type(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    response = await client.post(
        "/v1/events",
        content=b"kind=usage&name=x",
        headers={**bearer(tenant), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "content-type"


async def test_an_event_from_1970_is_422_naming_occurred_at(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    event = {"kind": "usage", "name": "x", "occurred_at": "1970-01-01T00:00:00Z"}
    response = await client.post("/v1/events", json=event, headers=bearer(tenant))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "occurred_at"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ampm_wk_not-a-real-key"},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic !!!"},
    ],
    ids=["none", "unknown", "scheme", "malformed-basic"],
)
async def test_requests_without_a_valid_write_key_are_401_json(
    client: httpx.AsyncClient, headers: dict[str, str], topics: Topics, kafka_bootstrap: str
) -> None:
    response = await client.post("/v1/events", json=THE_EXAMPLES[0], headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "authorization"
    assert await topic_size(kafka_bootstrap, topics.events) == 0


async def test_a_secret_key_is_not_a_write_key(
    client: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    headers = {"Authorization": f"Bearer {tenant.secret_key.plaintext}"}
    response = await client.post("/v1/events", json=THE_EXAMPLES[0], headers=headers)
    assert response.status_code == 401


async def test_a_key_publishes_only_as_its_own_tenant(
    client: httpx.AsyncClient,
    tenant: CreatedTenant,
    other_tenant: CreatedTenant,
    topics: Topics,
    kafka_bootstrap: str,
) -> None:
    smuggled = {**THE_EXAMPLES[0], "tenant_id": other_tenant.tenant.id}
    response = await client.post("/v1/events", json=smuggled, headers=bearer(tenant))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "tenant_id"

    for owner in (tenant, other_tenant):
        event = {**THE_EXAMPLES[0], "id": f"from-{owner.tenant.id}"}
        assert (await client.post("/v1/events", json=event, headers=bearer(owner))).is_success
    envelopes = envelopes_of(await read_records(kafka_bootstrap, topics.events, 2))
    assert {e.id: e.tenant_id for e in envelopes.values()} == {
        f"from-{tenant.tenant.id}": tenant.tenant.id,
        f"from-{other_tenant.tenant.id}": other_tenant.tenant.id,
    }


async def test_gzip_bodies_are_accepted(
    client: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    body = httpx.Request("POST", "/", json={"events": THE_EXAMPLES[:2]}).read()
    headers = {**bearer(tenant), "Content-Encoding": "gzip", "Content-Type": "application/json"}
    response = await client.post("/v1/events", content=gzip.compress(body), headers=headers)
    assert response.status_code == 200, response.text
    assert len(await read_records(kafka_bootstrap, topics.events, 2)) == 2


@pytest.fixture
async def small_limits(serve_ingest: ServeIngest) -> AsyncIterator[httpx.AsyncClient]:
    limits = {"native_max_events": 3, "native_max_body_bytes": 2_000}
    async with serve_ingest(**limits) as url, httpx.AsyncClient(base_url=url) as http:
        yield http


async def test_the_limits_answer_json_errors_and_publish_nothing(
    small_limits: httpx.AsyncClient, tenant: CreatedTenant, topics: Topics, kafka_bootstrap: str
) -> None:
    auth = bearer(tenant)
    gzip_headers = {**auth, "Content-Encoding": "gzip"}
    four = {"events": [THE_EXAMPLES[0]] * 4}
    big = {**THE_EXAMPLES[0], "properties": {"note": "x" * 3_000}}
    bomb = gzip.compress(b'{"events": [' + b" " * 5_000_000 + b"]}")

    cases: list[tuple[httpx.Response, int, str]] = [
        (await small_limits.post("/v1/events", json=four, headers=auth), 413, "events"),
        (await small_limits.post("/v1/events", json=big, headers=auth), 413, "body"),
        (await small_limits.post("/v1/events", content=bomb, headers=gzip_headers), 413, "body"),
        (await small_limits.post("/v1/events", content=b"{nope", headers=auth), 400, "body"),
        (await small_limits.post("/v1/events", content=b"\x1f\x8b!", headers=gzip_headers), 400, "body"),
        (
            await small_limits.post(
                "/v1/events", content=b"{}", headers={**auth, "Content-Encoding": "br"}
            ),
            400,
            "content-encoding",
        ),
        (await small_limits.post("/v1/events", json=[1], headers=auth), 400, "body"),
    ]  # fmt: skip
    for response, status, field in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert (error["field"], bool(error["code"]), bool(error["message"])) == (field, True, True)
    assert await topic_size(kafka_bootstrap, topics.events) == 0


async def test_a_streamed_body_is_cut_off_past_the_limit(
    small_limits: httpx.AsyncClient, tenant: CreatedTenant
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"kind": "usage", "name": "x", "properties": {"pad": "'
        for _ in range(10):
            yield b"x" * 1_000
        yield b'"}}'

    response = await small_limits.post("/v1/events", content=chunks(), headers=bearer(tenant))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_the_openapi_document_describes_every_ingest_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for call in ("events", "batch", "track", "identify", "group", "page", "screen", "alias"):
        assert "requestBody" in paths[f"/v1/{call}"]["post"]
