"""The notifier service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.notifier.api import router
from services.notifier.consumer import batch_handler, subscription
from services.notifier.delivery import run_worker
from services.notifier.handlers import Context, apply_erasure
from services.notifier.settings import NotifierSettings
from services.notifier.tables import ProcessedMessageRow
from shared.auth import TenantResolver
from shared.consuming import run_consumer
from shared.erasure_runner import run_erasures
from shared.idempotency import keep_processed_events
from shared.service import (
    background,
    build_app,
    open_database,
    open_healing_producer,
    publishing_check,
    standard_checks,
)
from shared.topics import Topics


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """Build the notifier app; the lifespan opens the database and the producer, then starts
    the consumer of signals and digests and the delivery worker."""
    settings = settings or NotifierSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            app.state.tenant_resolver = TenantResolver(
                database.sessions, ttl_seconds=settings.key_cache_seconds
            )
            topics = Topics(settings.topic_namespace)
            producer = await stack.enter_async_context(
                open_healing_producer(settings, client_id="ampm-notifier")
            )
            notifier = Context(
                sessions=database.sessions,
                settings=settings,
                producer=producer,
                dead_letter_topic=topics.notifications_dlq,
                schedule=settings.schedule(),
                allowlist=settings.allowlist(),
            )
            app.state.context = notifier
            received = batch_handler(notifier, topics.digests)
            await stack.enter_async_context(
                background(
                    "notifier-signals",
                    lambda: run_consumer(
                        settings, subscription(settings), received, producer=producer
                    ),
                )
            )
            await stack.enter_async_context(
                background("notifier-delivery", lambda: run_worker(notifier))
            )
            await stack.enter_async_context(
                background(
                    "notifier-retention",
                    lambda: keep_processed_events(
                        database.sessions,
                        ProcessedMessageRow,
                        retention=timedelta(days=settings.processed_message_retention_days),
                    ),
                )
            )
            await stack.enter_async_context(
                background(
                    "notifier-erasures",
                    lambda: run_erasures(
                        settings, database.sessions, "notifier", apply_erasure, producer=producer
                    ),
                )
            )
            yield

    app = build_app(
        title="ampm notifier",
        description="Turns signals into next-junction recommendations and delivers signed webhooks.",
        settings=settings,
        lifespan=lifespan,
        checks=[
            *standard_checks(settings, lambda: app.state.database.engine),
            publishing_check(lambda: app.state.context.producer),
        ],
        registry=CollectorRegistry(),
    )
    app.include_router(router)
    return app
