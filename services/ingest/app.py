"""The ingest service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.ingest.settings import IngestSettings
from shared import tenant_api
from shared.auth import TenantResolver
from shared.service import (
    bootstrap_topics,
    build_app,
    open_database,
    open_producer,
    standard_checks,
)


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; the lifespan opens the database and the Kafka producer."""
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(database.sessions)
            app.state.topics = await bootstrap_topics(settings)
            app.state.producer = await stack.enter_async_context(
                open_producer(settings, client_id="ampm-ingest")
            )
            yield

    app = build_app(
        title="ampm ingest",
        description="Accepts product-usage and human-activity events and publishes them to Kafka.",
        settings=settings,
        lifespan=lifespan,
        checks=standard_checks(settings, lambda: app.state.database.engine),
        registry=CollectorRegistry(),
    )
    app.include_router(tenant_api.router)
    return app
