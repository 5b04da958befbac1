"""The equivalents service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.equivalents.settings import EquivalentsSettings
from shared.auth import TenantResolver
from shared.service import build_app, open_database, standard_checks


def create_app(settings: EquivalentsSettings | None = None) -> FastAPI:
    """Build the equivalents app; the lifespan opens the database."""
    settings = settings or EquivalentsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(database.sessions)
            yield

    app = build_app(
        title="ampm equivalents",
        description="Converts usage into equivalents customers care about, with sources, and forecasts ROI.",
        settings=settings,
        lifespan=lifespan,
        checks=standard_checks(settings, lambda: app.state.database.engine),
        registry=CollectorRegistry(),
    )
    return app
