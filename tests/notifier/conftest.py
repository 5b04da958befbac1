"""Fixtures of the notifier's integration tests: settings, a receiver, a running notifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.notifier.app import create_app
from services.notifier.settings import NotifierSettings
from shared.signals import SignalChange, SignalChangeType, SignalType
from shared.topics import Topics
from tests.notifier.receiver import Receiver
from tests.support.servers import serve_app


@pytest.fixture
def notifier_settings(base_settings: dict[str, Any]) -> NotifierSettings:
    """Short retry delays, no jitter, the loopback network allowlisted for receivers."""
    return NotifierSettings(
        **base_settings,
        allowed_cidrs="127.0.0.0/8",
        retry_schedule="0,0.3,0.3",
        retry_jitter=0,
        worker_poll_seconds=0.2,
        webhook_timeout_seconds=5,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver served on 127.0.0.1, and its base URL."""
    recorder = Receiver()
    async with serve_app(recorder.app()) as url:
        yield recorder, url


@pytest.fixture
async def signals_producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def api(base_url: str, secret_key: str) -> httpx.AsyncClient:
    """A client of a running notifier with the tenant's secret key."""
    return httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {secret_key}"}, timeout=10
    )


def raised(
    tenant_id: str,
    change_id: str,
    *,
    account_id: str = "acme",
    signal_type: SignalType = SignalType.SPONSOR_DEPARTURE,
) -> SignalChange:
    return SignalChange(
        id=change_id,
        type=SignalChangeType.RAISED,
        tenant_id=tenant_id,
        account_id=account_id,
        signal_id=f"sig-{change_id}",
        signal_type=signal_type,
        subject="Jane Doe",
        state=None,
        evidence={"person": "Jane Doe"},
        occurred_at=datetime.now(UTC),
    )


async def publish(
    producer: AIOKafkaProducer, settings: NotifierSettings, changes: Sequence[SignalChange]
) -> None:
    """Put signal changes on the signals topic, as the correlation service does."""
    topic = Topics(settings.topic_namespace).signals
    for change in changes:
        await producer.send_and_wait(
            topic, change.to_value(), key=change.key, headers=change.headers()
        )


async def register(
    client: httpx.AsyncClient, url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    """Register an endpoint through the API; returns its body (with its secret)."""
    response = await client.post(
        "/v1/webhooks/endpoints", json={"url": url, "event_types": event_types or []}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@asynccontextmanager
async def running(settings: NotifierSettings, secret_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A notifier served on 127.0.0.1 and a client of it with the tenant's secret key."""
    async with serve_app(create_app(settings)) as base, api(base, secret_key) as client:
        yield client
