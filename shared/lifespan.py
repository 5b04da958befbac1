"""What every service's lifespan opens and runs, written once.

``service_runtime`` opens the database and the tenant resolver (both on ``app.state``, where
the shared auth and ops code read them) and the service's healing producer; a lifespan then
builds its ``Context`` and starts its background jobs through the ``Runtime``: its consumers,
the erasures consumer and the forgetting of processed ids. Everything stops, in reverse
order, when the lifespan ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from shared.consuming import BatchHandler, Subscription, run_consumer
from shared.db import Base
from shared.erasure_runner import ApplyErasure, run_erasures
from shared.idempotency import keep_processed_events
from shared.kafka import HealingProducer
from shared.service import Database, background, open_database, open_healing_producer
from shared.settings import ServiceSettings
from shared.tenancy.auth import TenantResolver


@dataclass(frozen=True, slots=True)
class Runtime:
    """A running service's database, producer and background jobs."""

    service: str
    settings: ServiceSettings
    database: Database
    producer: HealingProducer
    _stack: AsyncExitStack

    async def run(self, job: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``run()`` in the background, named ``<service>-<job>``, until the lifespan ends."""
        await self._stack.enter_async_context(background(f"{self.service}-{job}", run))

    async def consume(self, job: str, subscription: Subscription, handler: BatchHandler) -> None:
        """Consume ``subscription`` with ``handler`` (``shared.consuming.run_consumer``)."""
        await self.run(
            job,
            lambda: run_consumer(self.settings, subscription, handler, producer=self.producer),
        )

    async def apply_erasures(self, apply: ApplyErasure) -> None:
        """Consume ``ampm.erasures``, applying each to this service's tables with ``apply``."""
        await self.run(
            "erasures",
            lambda: run_erasures(
                self.settings, self.database.sessions, self.service, apply, producer=self.producer
            ),
        )

    async def forget_processed(self, row_type: type[Base], *, days: float) -> None:
        """Forget the processed ids of ``row_type`` after ``days``."""
        await self.run(
            "retention",
            lambda: keep_processed_events(
                self.database.sessions, row_type, retention=timedelta(days=days)
            ),
        )


@asynccontextmanager
async def service_runtime(
    app: FastAPI, settings: ServiceSettings, service: str
) -> AsyncIterator[Runtime]:
    """Open the database, the tenant resolver and the producer of ``service``; stop them and
    every job started through the runtime on exit."""
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(open_database(settings))
        app.state.database = database
        app.state.tenant_resolver = TenantResolver(
            database.sessions, ttl_seconds=settings.key_cache_seconds
        )
        producer = await stack.enter_async_context(
            open_healing_producer(settings, client_id=f"ampm-{service}")
        )
        yield Runtime(service, settings, database, producer, stack)
