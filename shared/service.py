"""What every service's ``create_app`` and ``__main__`` share.

``build_app`` gives a FastAPI app the shared error body, request metrics and ops endpoints;
``open_database``/``open_producer``/``background`` are the pieces a lifespan stacks;
``serve`` runs an app under uvicorn with the shared logging and garbage-collector setup.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import check_database, create_engine, create_session_factory
from shared.http import ErrorResponder, RejectNulCharacters, install_error_handlers, json_error
from shared.kafka import (
    BACKOFF_INITIAL_SECONDS,
    BACKOFF_MAX_SECONDS,
    TRANSIENT_ERRORS,
    HealingProducer,
    check_kafka,
    create_producer,
    ensure_topics,
    stop_producer,
)
from shared.logging import configure_logging
from shared.openapi import install_openapi, operation_id
from shared.ops import ReadinessCheck, RequestMetrics, ops_router
from shared.settings import ServiceSettings
from shared.topics import Topics

log = structlog.get_logger(__name__)

FIRST_CONNECT_SECONDS = 5.0
TASK_STOP_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def open_database(settings: ServiceSettings) -> AsyncIterator[Database]:
    """An engine and session factory, disposed on exit."""
    engine = create_engine(settings.database_url)
    try:
        yield Database(engine, create_session_factory(engine))
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_producer(
    settings: ServiceSettings, *, client_id: str
) -> AsyncIterator[AIOKafkaProducer]:
    """A started ``acks=all`` producer, flushed and stopped on exit."""
    producer = create_producer(settings, client_id=client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await stop_producer(producer)


@asynccontextmanager
async def open_healing_producer(
    settings: ServiceSettings, *, client_id: str
) -> AsyncIterator[HealingProducer]:
    """A ``HealingProducer`` of ``acks=all`` producers, stopped on exit.

    Connected (topics created, producer started) before the block when Kafka answers within
    ``FIRST_CONNECT_SECONDS``; otherwise it connects in the background while the service
    serves, publishing fails as it does during an outage, and ``/readyz`` says so.
    """
    producer = HealingProducer(
        lambda: create_producer(settings, client_id=client_id),
        stuck_after_seconds=settings.producer_stuck_after_seconds,
    )
    try:
        async with asyncio.timeout(FIRST_CONNECT_SECONDS):
            await _connect(settings, producer)
    except TRANSIENT_ERRORS as exc:
        log.warning("producer_waiting_for_kafka", client_id=client_id, error=repr(exc)[:300])
    try:
        async with background(f"{client_id}-connect", lambda: connect(settings, producer)):
            yield producer
    finally:
        await producer.stop()


async def connect(settings: ServiceSettings, producer: HealingProducer) -> None:
    """Create the topics and start ``producer``, retrying with backoff while Kafka is away."""
    delay = BACKOFF_INITIAL_SECONDS
    while not producer.connected:
        try:
            await _connect(settings, producer)
        except TRANSIENT_ERRORS:
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)
        else:
            log.info("producer_connected")


async def _connect(settings: ServiceSettings, producer: HealingProducer) -> None:
    await bootstrap_topics(settings)
    await producer.start()


@asynccontextmanager
async def background(
    name: str, run: Callable[[], Coroutine[Any, Any, None]]
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``run()`` as a task for the life of the block; a crash is logged, exit cancels it.

    The exit cancels again every second while the task runs on (library code that turned a
    cancellation into an error it then retried), and gives up after ``TASK_STOP_SECONDS``, so
    one task can never hang a service's shutdown.
    """
    task = asyncio.create_task(run(), name=name)

    def _report(finished: asyncio.Task[None]) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            log.error("background_task_crashed", task=name, exc_info=finished.exception())

    task.add_done_callback(_report)
    try:
        yield task
    finally:
        deadline = asyncio.get_running_loop().time() + TASK_STOP_SECONDS
        while not task.done() and asyncio.get_running_loop().time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        if not task.done():
            log.error("background_task_did_not_stop", task=name)


async def bootstrap_topics(settings: ServiceSettings) -> Topics:
    """Create every topic with the configured partitions; returns the names."""
    topics = Topics(settings.topic_namespace)
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        topics.all(),
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
    )
    return topics


def standard_checks(
    settings: ServiceSettings, engine: Callable[[], AsyncEngine]
) -> list[ReadinessCheck]:
    """Readiness probes for the database and Kafka."""

    async def database() -> None:
        await check_database(engine())

    async def kafka() -> None:
        await check_kafka(settings.kafka_bootstrap_servers)

    return [ReadinessCheck("database", database), ReadinessCheck("kafka", kafka)]


def publishing_check(producer: Callable[[], HealingProducer]) -> ReadinessCheck:
    """Readiness of a service that publishes: failing while every publish fails, so an
    orchestrator sees it cannot publish even when the broker answers metadata requests."""

    async def publishing() -> None:
        if not producer().connected:
            raise ConnectionError("not connected to Kafka yet")
        failing = producer().failing_for()
        if failing > 0:
            raise ConnectionError(f"no publish acknowledged for {failing:.0f}s")

    return ReadinessCheck("publishing", publishing)


def build_app(
    *,
    title: str,
    description: str,
    settings: ServiceSettings,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    checks: list[ReadinessCheck],
    registry: CollectorRegistry,
    respond: ErrorResponder = json_error,
) -> FastAPI:
    """A FastAPI app with the shared error handling (``respond`` renders domain errors),
    request metrics and ops endpoints."""
    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.registry = registry
    install_error_handlers(app, respond)
    app.add_middleware(RejectNulCharacters)
    app.add_middleware(RequestMetrics, registry=registry)
    app.include_router(ops_router(checks, registry))
    install_openapi(app)
    return app


def freeze_startup_heap() -> None:
    """Keep the objects alive now (modules, classes, the app) out of the cyclic collector's way.

    They live as long as the process, yet every older-generation collection walks all of them
    again; a consumer allocating a few objects per event triggers such collections many times a
    second, which cost the correlation consumer about a third of its time.
    """
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, settings: ServiceSettings, port: int) -> None:
    """Run one service under uvicorn (one worker; scale out with more processes)."""
    configure_logging(settings.log_level, json=settings.log_json)
    freeze_startup_heap()
    uvicorn.run(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
