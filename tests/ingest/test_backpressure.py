"""Backpressure and failure: a broker that is gone means 503, a spent rate limit means 429."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ampm.local.kafka import LocalBroker, throwaway_broker
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.ingest.conftest import ServeIngest
from tests.ingest.records import topic_size
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

EVENT = {"kind": "usage", "name": "transactions_processed", "value": 240, "account_id": "nw"}


def bearer(tenant: CreatedTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.write_key.plaintext}"}


@pytest.fixture
def doomed_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A broker of this test alone, so stopping it leaves the session's broker alone."""
    broker = throwaway_broker(tmp_path / "kafka")
    broker.start()
    try:
        asyncio.run(broker.wait_ready())
        yield broker
    finally:
        broker.stop()


async def test_a_broker_that_does_not_acknowledge_means_503_with_retry_after(
    serve_ingest: ServeIngest, doomed_broker: LocalBroker, tenant: CreatedTenant
) -> None:
    settings = {
        "kafka_bootstrap_servers": doomed_broker.config.bootstrap_servers,
        "publish_timeout_seconds": 1.0,
        "kafka_request_timeout_ms": 1_500,
        "retry_after_seconds": 7,
    }
    segment_auth = {"Authorization": "Basic " + base64.b64encode(
        f"{tenant.write_key.plaintext}:".encode()).decode()}  # fmt: skip
    async with serve_ingest(**settings) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.post("/v1/events", json=EVENT, headers=bearer(tenant))).is_success

        await asyncio.to_thread(doomed_broker.stop)

        native = await client.post("/v1/events", json=EVENT, headers=bearer(tenant))
        segment = await client.post(
            "/v1/track", json={"event": "x", "userId": "u"}, headers=segment_auth
        )
        for response in (native, segment):
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "7"
            assert response.json()["error"]["code"] == "unavailable"
            assert response.json()["error"]["field"] == "kafka"

        # Back up (same ports), the service recovers without a restart of its own; this also
        # lets the producer flush the records it still holds and stop cleanly.
        doomed_broker.start()
        await doomed_broker.wait_ready()

        async def accepted() -> bool:
            response = await client.post("/v1/events", json=EVENT, headers=bearer(tenant))
            return response.is_success

        async with asyncio.timeout(30):
            while not await accepted():  # noqa: ASYNC110
                await asyncio.sleep(0.2)


async def test_a_tenant_past_its_rate_limit_gets_429_while_others_pass(
    serve_ingest: ServeIngest,
    tenant: CreatedTenant,
    other_tenant: CreatedTenant,
    topics: Topics,
    kafka_bootstrap: str,
) -> None:
    limits = {"rate_limit_per_second": 0.5, "rate_limit_burst": 3, "native_max_events": 3}
    async with serve_ingest(**limits) as url, httpx.AsyncClient(base_url=url) as client:
        batch = {"events": [EVENT] * 3}
        assert (await client.post("/v1/events", json=batch, headers=bearer(tenant))).is_success
        limited = await client.post("/v1/events", json=EVENT, headers=bearer(tenant))
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "2"
        assert limited.json()["error"]["code"] == "rate_limited"
        other = await client.post("/v1/events", json=EVENT, headers=bearer(other_tenant))
        assert other.is_success
    assert await topic_size(kafka_bootstrap, topics.events) == 4


async def test_ingest_started_while_kafka_is_down_serves_503_then_publishes_once_it_is_up(
    serve_ingest: ServeIngest, doomed_broker: LocalBroker, tenant: CreatedTenant
) -> None:
    await asyncio.to_thread(doomed_broker.stop)
    settings = {"kafka_bootstrap_servers": doomed_broker.config.bootstrap_servers}
    async with serve_ingest(**settings) as url, httpx.AsyncClient(base_url=url) as client:
        refused = await client.post("/v1/events", json=EVENT, headers=bearer(tenant))
        ready = await client.get("/readyz")
        assert refused.status_code == 503
        assert refused.json()["error"]["field"] == "kafka"
        assert ready.status_code == 503
        assert (
            ready.json()["checks"]["publishing"]
            == "error: ConnectionError: not connected to Kafka yet"
        )

        doomed_broker.start()
        await doomed_broker.wait_ready()

        async def accepted() -> bool:
            response = await client.post("/v1/events", json=EVENT, headers=bearer(tenant))
            return response.is_success

        await eventually(accepted)
        assert (await client.get("/readyz")).status_code == 200
