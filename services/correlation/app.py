"""The correlation service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.correlation.api import router
from services.correlation.consumer import batch_handler, subscription
from services.correlation.handlers import Context, apply_erasure
from services.correlation.relay import OutboxRelay
from services.correlation.settings import CorrelationSettings
from services.correlation.sweeper import run_sweeper
from services.correlation.tables import ProcessedEventRow
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
from shared.topics import Topics


def create_app(settings: CorrelationSettings | None = None) -> FastAPI:
    """Build the correlation app; the lifespan opens the database and runs the events consumer
    and the outbox relay in the background."""
    settings = settings or CorrelationSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(
                database.sessions, ttl_seconds=settings.key_cache_seconds
            )
            relay = OutboxRelay(
                database.sessions,
                Topics(settings.topic_namespace).signals,
                poll_seconds=settings.outbox_poll_seconds,
            )
            app.state.context = Context(database.sessions, settings, relay.wake)
            producer = await stack.enter_async_context(
                open_healing_producer(settings, client_id="ampm-correlation")
            )
            await stack.enter_async_context(
                background("correlation-relay", lambda: relay.run(producer))
            )
            events = batch_handler(database.sessions, settings, on_evaluated=relay.wake)
            await stack.enter_async_context(
                background(
                    "correlation-events",
                    lambda: run_consumer(
                        settings, subscription(settings), events, producer=producer
                    ),
                )
            )
            await stack.enter_async_context(
                background(
                    "correlation-sweeper", lambda: run_sweeper(database.sessions, settings, relay)
                )
            )
            await stack.enter_async_context(
                background(
                    "correlation-erasures",
                    lambda: run_erasures(
                        settings,
                        database.sessions,
                        "correlation",
                        apply_erasure,
                        producer=producer,
                    ),
                )
            )
            await stack.enter_async_context(
                background(
                    "correlation-retention",
                    lambda: keep_processed_events(
                        database.sessions,
                        ProcessedEventRow,
                        retention=timedelta(days=settings.processed_event_retention_days),
                    ),
                )
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
