"""The correlation service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.correlation.api import router
from services.correlation.consumer import batch_handler, subscription
from services.correlation.handlers import Context, apply_erasure
from services.correlation.relay import OutboxRelay
from services.correlation.settings import CorrelationSettings
from services.correlation.sweeper import run_sweeper
from services.correlation.tables import ProcessedEventRow
from shared.lifespan import service_runtime
from shared.service import (
    build_app,
    standard_checks,
)
from shared.topics import Topics


def create_app(settings: CorrelationSettings | None = None) -> FastAPI:
    """Build the correlation app; the lifespan opens the database and runs the events consumer
    and the outbox relay in the background."""
    settings = settings or CorrelationSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(app, settings, "correlation") as runtime:
            sessions = runtime.database.sessions
            relay = OutboxRelay(
                sessions,
                Topics(settings.topic_namespace).signals,
                poll_seconds=settings.outbox_poll_seconds,
            )
            app.state.context = Context(sessions, settings, relay.wake)
            await runtime.run("relay", lambda: relay.run(runtime.producer))
            await runtime.consume(
                "events",
                subscription(settings),
                batch_handler(sessions, settings, on_evaluated=relay.wake),
            )
            await runtime.run("sweeper", lambda: run_sweeper(sessions, settings, relay))
            await runtime.apply_erasures(apply_erasure)
            await runtime.forget_processed(
                ProcessedEventRow, days=settings.processed_event_retention_days
            )
            yield

    app = build_app(
        title="ampm correlation",
        description="Keeps AM/PM buckets and success plans, learns correlations, raises risk signals.",
        settings=settings,
        lifespan=lifespan,
        checks=standard_checks(settings, lambda: app.state.database.engine),
        registry=CollectorRegistry(),
    )
    app.include_router(router)
    return app
