"""The equivalents service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from shared.lifespan import service_runtime
from shared.service import (
    build_app,
    standard_checks,
)


def create_app(settings: EquivalentsSettings | None = None) -> FastAPI:
    """Build the equivalents app; the lifespan opens the database and runs the events consumer."""
    settings = settings or EquivalentsSettings()
    shipped = load_shipped_catalog()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(app, settings, "equivalents") as runtime:
            database = runtime.database
            context = Context(database.sessions, shipped)
            app.state.context = context
            await runtime.run(
                "catalog-notices",
                lambda: follow_catalog_changes(database.engine, context.catalogs),
            )
            await runtime.consume(
                "events", subscription(settings), batch_handler(database.sessions)
            )
            await runtime.run("digests", lambda: run_digester(settings, context))
            await runtime.apply_erasures(handlers.apply_erasure)
            await runtime.forget_processed(
                ProcessedEventRow, days=settings.processed_event_retention_days
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
