"""Change notices of tenant catalogs between instances, over PostgreSQL LISTEN/NOTIFY.

Every write to a tenant's entries or settings sends ``pg_notify`` in its transaction
(``store._changed``); each instance listens on one connection of its own and drops the tenant's
cached catalog when a notice arrives. PostgreSQL delivers a notice to every listener on commit,
in commit order, and never for a rolled-back write, so a cached catalog is at most a notice's
round trip behind. When the listening connection is lost (a database restart, a failover),
notices may have been missed: the cache is distrusted, hence empty and unused, until the
instance listens again. The embedded SQLite database of the local run has one writer, the
instance itself, which drops its own copies after each write.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

CATALOG_CHANNEL = "ampm_equivalents_catalog"
HEARTBEAT_SECONDS = 2.0
RETRY_SECONDS = 1.0

log = structlog.get_logger(__name__)


class ChangeListener(Protocol):
    def changed(self, tenant_id: str) -> None: ...
    def trust(self) -> None: ...
    def distrust(self) -> None: ...


async def follow_catalog_changes(
    engine: AsyncEngine,
    catalogs: ChangeListener,
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    retry: float = RETRY_SECONDS,
) -> None:
    """Keep ``catalogs`` told of every change for as long as it runs (cancel to stop).

    The connection's termination is noticed at once; a connection that silently stops
    answering is noticed by the heartbeat, so a missed notice is served for at most that long.
    """
    if engine.dialect.name != "postgresql":
        catalogs.trust()
        return
    while True:
        try:
            await _listen(engine, catalogs, heartbeat)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure of the connection: listen again
            log.warning("catalog_notices_lost", error=repr(error))
        finally:
            catalogs.distrust()
        await asyncio.sleep(retry)


async def _listen(engine: AsyncEngine, catalogs: ChangeListener, heartbeat: float) -> None:
    lost = asyncio.Event()

    def on_notice(_connection: Any, _pid: int, _channel: str, tenant_id: str) -> None:
        catalogs.changed(tenant_id)

    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection  # the asyncpg connection
        assert driver is not None
        driver.add_termination_listener(lambda _connection: lost.set())
        await driver.add_listener(CATALOG_CHANNEL, on_notice)
        catalogs.trust()
        log.info("catalog_notices_listening")
        try:
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), timeout=heartbeat)
                except TimeoutError:
                    await asyncio.wait_for(driver.fetchval("SELECT 1"), timeout=heartbeat)
            raise ConnectionError("the listening connection was terminated")
        finally:
            if not driver.is_closed():
                await driver.remove_listener(CATALOG_CHANNEL, on_notice)
