"""The notifier service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.notifier.api import router
from services.notifier.consumer import batch_handler, subscription
from services.notifier.delivery import run_worker
from services.notifier.handlers import Context, apply_erasure
from services.notifier.settings import NotifierSettings
from services.notifier.tables import ProcessedMessageRow
from shared.lifespan import service_runtime
from shared.service import (
    build_app,
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
        async with service_runtime(app, settings, "notifier") as runtime:
            topics = Topics(settings.topic_namespace)
            context = Context(
                sessions=runtime.database.sessions,
                settings=settings,
                producer=runtime.producer,
                dead_letter_topic=topics.notifications_dlq,
                schedule=settings.schedule(),
                allowlist=settings.allowlist(),
            )
            app.state.context = context
            await runtime.consume(
                "signals", subscription(settings), batch_handler(context, topics.digests)
            )
            await runtime.run("delivery", lambda: run_worker(context))
            await runtime.forget_processed(
                ProcessedMessageRow, days=settings.processed_message_retention_days
            )
            await runtime.apply_erasures(apply_erasure)
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
