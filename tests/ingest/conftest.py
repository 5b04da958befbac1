"""Fixtures of the ingest integration tests: served ingest apps on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.topics import Topics
from tests.support.servers import serve_app

ServeIngest = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def topics(topic_namespace: str) -> Topics:
    return Topics(topic_namespace)


@pytest.fixture
def serve_ingest(base_settings: dict[str, object]) -> ServeIngest:
    """``async with serve_ingest(**settings) as url``: a real ingest server for this test.

    The raw-topic consumer is off unless a test turns it on.
    """

    @asynccontextmanager
    async def serve(**overrides: Any) -> AsyncIterator[str]:
        settings = IngestSettings(**{**base_settings, "raw_consumer_enabled": False, **overrides})
        async with serve_app(create_app(settings)) as url:
            yield url

    return serve


@pytest.fixture
async def ingest_url(serve_ingest: ServeIngest) -> AsyncIterator[str]:
    """A real ingest server with the default settings."""
    async with serve_ingest() as url:
        yield url


@pytest.fixture
async def client(ingest_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as http:
        yield http
