"""The ingest service's app factory and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from services.ingest import api
from services.ingest.consumer import batch_handler, subscription
from services.ingest.cors import SEGMENT_PATHS, WriteKeyCors
from services.ingest.handlers import Context, apply_erasure
from services.ingest.native import NativeLimits
from services.ingest.ratelimit import TenantBuckets
from services.ingest.schemas import SegmentErrorBody
from services.ingest.segment import SegmentLimits
from services.ingest.settings import IngestSettings
from shared.errors import ApiError
from shared.lifespan import service_runtime
from shared.openapi import ERROR_SCHEMA, install_openapi
from shared.service import (
    build_app,
    publishing_check,
    standard_checks,
)
from shared.tenancy import api as tenant_api
from shared.topics import Topics


def _error_response(request: Request, error: ApiError) -> JSONResponse:
    """The shared error body; on the Segment routes also Segment's own ``code`` and
    ``message`` at the top, which Segment's SDKs read to report the error."""
    body = error.body()
    if request.url.path in SEGMENT_PATHS:
        body = {"code": error.code, "message": error.message, **body}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers())


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; the lifespan opens the database, the producer and the consumer."""
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(app, settings, "ingest") as runtime:
            context = Context(
                sessions=runtime.database.sessions,
                producer=runtime.producer,
                topics=Topics(settings.topic_namespace),
                resolver=app.state.tenant_resolver,
                buckets=TenantBuckets(
                    rate=settings.rate_limit_per_second, burst=settings.rate_limit_burst
                ),
                native_limits=NativeLimits(
                    max_events=settings.native_max_events,
                    max_body_bytes=settings.native_max_body_bytes,
                    window=settings.event_time_window,
                ),
                segment_limits=SegmentLimits(
                    max_message_bytes=settings.segment_max_message_bytes,
                    max_request_bytes=settings.segment_max_request_bytes,
                    window=settings.event_time_window,
                ),
                raw_max_value_bytes=settings.raw_max_value_bytes,
                publish_timeout_seconds=settings.publish_timeout_seconds,
                retry_after_seconds=settings.retry_after_seconds,
            )
            app.state.context = context
            await runtime.apply_erasures(apply_erasure)
            if settings.raw_consumer_enabled:
                await runtime.consume(
                    "raw-consumer", subscription(settings), batch_handler(context)
                )
            yield

    app = build_app(
        title="ampm ingest",
        description="Accepts product-usage and human-activity events and publishes them to Kafka.",
        settings=settings,
        lifespan=lifespan,
        checks=[
            *standard_checks(settings, lambda: app.state.database.engine),
            publishing_check(lambda: app.state.context.producer),
        ],
        registry=CollectorRegistry(),
        respond=_error_response,
    )

    origins = [
        origin.strip() for origin in settings.cors_allow_origins.split(",") if origin.strip()
    ]
    app.add_middleware(WriteKeyCors, allow_origins=origins)
    app.include_router(api.router)
    app.include_router(api.erasures)
    app.include_router(tenant_api.router)
    install_openapi(
        app,
        error_schemas=lambda path: "SegmentErrorBody" if path in SEGMENT_PATHS else ERROR_SCHEMA,
        extra_schemas=[SegmentErrorBody],
    )
    return app
