"""Every service answers /healthz, /readyz and /metrics over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ampm.local.kafka import throwaway_broker
from services.correlation.app import create_app as correlation_app
from services.correlation.settings import CorrelationSettings
from services.equivalents.app import create_app as equivalents_app
from services.equivalents.settings import EquivalentsSettings
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.notifier.app import create_app as notifier_app
from services.notifier.settings import NotifierSettings
from tests.support.servers import serve_app

pytestmark = pytest.mark.integration


def _apps(settings: dict[str, Any]) -> dict[str, FastAPI]:
    return {
        "ingest": ingest_app(IngestSettings(**settings)),
        "correlation": correlation_app(CorrelationSettings(**settings)),
        "equivalents": equivalents_app(EquivalentsSettings(**settings)),
        "notifier": notifier_app(NotifierSettings(**settings)),
    }


@pytest.mark.parametrize("service", ["ingest", "correlation", "equivalents", "notifier"])
async def test_ops_endpoints(service: str, base_settings: dict[str, Any]) -> None:
    app = _apps(base_settings)[service]
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        missing = await client.get("/no-such-route")
        metrics = await client.get("/metrics")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    expected = {"database": "ok", "kafka": "ok"}
    if service in ("ingest", "notifier"):  # they publish, so they say whether that works
        expected["publishing"] = "ok"
    assert ready.json()["checks"] == expected
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'ampm_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics.text
    )


@pytest.mark.parametrize("service", ["ingest", "correlation", "equivalents", "notifier"])
async def test_every_service_serves_while_kafka_is_unreachable_and_says_so(
    service: str, base_settings: dict[str, Any]
) -> None:
    app = _apps({**base_settings, "kafka_bootstrap_servers": "127.0.0.1:1"})[service]
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        missing = await client.get("/v1/no-such-route")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["kafka"].startswith("error")
    if service in ("ingest", "notifier"):
        assert ready.json()["checks"]["publishing"].endswith("not connected to Kafka yet")
    assert missing.status_code == 404


async def test_readyz_reports_kafka_going_away(
    base_settings: dict[str, Any], tmp_path: Path
) -> None:
    # A broker of its own: stopping the session's broker would disturb every other test.
    broker = throwaway_broker(tmp_path / "kafka")
    broker.start()
    try:
        await broker.wait_ready()
        settings = {**base_settings, "kafka_bootstrap_servers": broker.config.bootstrap_servers}
        app = notifier_app(NotifierSettings(**settings))
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
            before = await client.get("/readyz")
            broker.stop()
            after = await client.get("/readyz")
    finally:
        broker.stop()
    assert before.status_code == 200
    assert after.status_code == 503
    assert after.json()["checks"]["database"] == "ok"
    assert after.json()["checks"]["kafka"].startswith("error")
