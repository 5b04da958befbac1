"""The equivalents service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.equivalents import handlers
from services.equivalents.api import router
from services.equivalents.catalog import load_shipped_catalog
from services.equivalents.catalog_notices import follow_catalog_changes
from services.equivalents.consumer import batch_handler, subscription
from services.equivalents.digester import run_digester
from services.equivalents.handlers import Context
from services.equivalents.settings import EquivalentsSettings
from services.equivalents.tables import ProcessedEventRow
from shared.auth import TenantResolver
from shared.consuming import run_consumer
from shared.erasure_runner import run_erasures
from shared.idempotency import keep_processed_events
from shared.service import (
    background,
    build_app,
    open_database,
    open_healing_producer,
    standard_checks,
)


def create_app(settings: EquivalentsSettings | None = None) -> FastAPI:
    """Build the equivalents app; the lifespan opens the database and runs the events consumer."""
    settings = settings or EquivalentsSettings()
    shipped = load_shipped_catalog()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(
                database.sessions, ttl_seconds=settings.key_cache_seconds
            )
            context = Context(database.sessions, shipped)
            app.state.context = context
            await stack.enter_async_context(
                background(
                    "equivalents-catalog-notices",
                    lambda: follow_catalog_changes(database.engine, context.catalogs),
                )
            )
            producer = await stack.enter_async_context(
                open_healing_producer(settings, client_id="ampm-equivalents")
            )
            events = batch_handler(database.sessions)
            await stack.enter_async_context(
                background(
                    "equivalents-events",
                    lambda: run_consumer(
                        settings, subscription(settings), events, producer=producer
                    ),
                )
            )
            await stack.enter_async_context(
                background("equivalents-digests", lambda: run_digester(settings, context))
            )
            await stack.enter_async_context(
                background(
                    "equivalents-erasures",
                    lambda: run_erasures(
                        settings,
                        database.sessions,
                        "equivalents",
                        handlers.apply_erasure,
                        producer=producer,
                    ),
                )
            )
            await stack.enter_async_context(
                background(
                    "equivalents-retention",
                    lambda: keep_processed_events(
                        database.sessions,
                        ProcessedEventRow,
                        retention=timedelta(
                            days=settings.equivalents_processed_event_retention_days
                        ),
                    ),
                )
            )
            yield

    app = build_app(
        title="ampm equivalents",
        description="Converts usage into equivalents customers care about, with sources, and forecasts ROI.",
        settings=settings,
        lifespan=lifespan,
        checks=standard_checks(settings, lambda: app.state.database.engine),
        registry=CollectorRegistry(),
    )

    app.include_router(router)
    return app
