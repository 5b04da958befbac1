"""One equivalents service on a real uvicorn server, shared by the integration tests here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from services.equivalents.app import create_app
from services.equivalents.settings import EquivalentsSettings
from shared.events import Envelope
from shared.kafka import create_producer
from shared.tenancy.store import CreatedTenant
from shared.topics import Topics
from tests.support.servers import serve_app

T = TypeVar("T")


@dataclass
class Service:
    """The running service, a keep-alive HTTP client and a producer onto its events topic."""

    url: str
    app: FastAPI
    http: httpx.AsyncClient
    producer: AIOKafkaProducer
    topics: Topics

    async def publish(self, *events: Envelope) -> None:
        """Publish as the ingest service does: envelope value, CloudEvents headers, account key."""
        for event in events:
            await self.producer.send_and_wait(
                self.topics.events, value=event.to_value(), key=event.key, headers=event.headers()
            )


def auth(tenant: CreatedTenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.secret_key.plaintext}"}


@pytest.fixture(scope="package")
async def service(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Service]:
    settings = EquivalentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_namespace=f"t{uuid.uuid4().hex[:10]}.",
        topic_partitions=3,
        log_json=False,
    )
    producer = create_producer(settings, client_id="equivalents-test")
    await producer.start()
    try:
        app = create_app(settings)
        async with (
            serve_app(app) as url,
            httpx.AsyncClient(base_url=url, timeout=10) as http,
        ):
            yield Service(url, app, http, producer, Topics(settings.topic_namespace))
    finally:
        await producer.stop()


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The shared error body's ``error`` object."""
    body: dict[str, Any] = response.json()
    return body["error"]  # type: ignore[no-any-return]
