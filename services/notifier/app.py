"""The notifier service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.notifier.settings import NotifierSettings
from shared.auth import TenantResolver
from shared.service import build_app, open_database, standard_checks


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """Build the notifier app; the lifespan opens the database."""
    settings = settings or NotifierSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(database.sessions)
            yield

    app = build_app(
        title="ampm notifier",
        description="Turns signals into next-junction recommendations and delivers signed webhooks.",
        settings=settings,
        lifespan=lifespan,
        checks=standard_checks(settings, lambda: app.state.database.engine),
        registry=CollectorRegistry(),
    )
    return app
