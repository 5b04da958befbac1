"""Throwaway infrastructure for benchmarks and tests: PostgreSQL, Kafka, databases, tenants.

``throwaway_infrastructure`` starts a PostgreSQL cluster (``ampm.local.postgres``) and a Kafka
broker (``ampm.local.kafka``) for the length of a ``with`` block, unless the environment names
existing ones: ``AMPM_DATABASE_URL`` (a server URL whose database serves as the maintenance
database) and ``AMPM_TEST_KAFKA_BOOTSTRAP``. ``create_database`` makes a fresh database on that
server and ``create_tenant_keys`` a tenant with its write and secret keys.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from ampm.local.kafka import LocalBroker, throwaway_broker
from ampm.local.postgres import LocalPostgres
from ampm.migrate import upgrade
from shared.db import create_engine, create_session_factory
from shared.tenancy.store import CreatedTenant, create_tenant

DATABASE_VARIABLE = "AMPM_DATABASE_URL"
BOOTSTRAP_VARIABLE = "AMPM_TEST_KAFKA_BOOTSTRAP"


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """Where the servers are; ``postgres``/``broker`` are None when the environment gave them."""

    maintenance_url: str
    bootstrap_servers: str
    postgres: LocalPostgres | None
    broker: LocalBroker | None


@contextmanager
def throwaway_postgres() -> Iterator[tuple[str, LocalPostgres | None]]:
    """(maintenance database URL, the cluster started here or None if ``AMPM_DATABASE_URL``)."""
    given = os.environ.get(DATABASE_VARIABLE)
    if given:
        yield given, None
        return
    postgres = LocalPostgres()
    postgres.start()
    try:
        yield postgres.url("postgres"), postgres
    finally:
        postgres.destroy()


@asynccontextmanager
async def throwaway_kafka(
    home: Path, *, variable: str = BOOTSTRAP_VARIABLE
) -> AsyncIterator[tuple[str, LocalBroker | None]]:
    """(bootstrap servers, the broker started in ``home/kafka`` or None if ``variable`` is set)."""
    given = os.environ.get(variable)
    if given:
        yield given, None
        return
    broker = throwaway_broker(home / "kafka")
    broker.start()
    try:
        await broker.wait_ready()
        yield broker.config.bootstrap_servers, broker
    finally:
        broker.stop()


@asynccontextmanager
async def throwaway_infrastructure(
    home: Path, *, bootstrap_variable: str = BOOTSTRAP_VARIABLE
) -> AsyncIterator[Infrastructure]:
    """A PostgreSQL server and a Kafka broker (in ``home``), started here unless given."""
    with throwaway_postgres() as (maintenance_url, postgres):
        async with throwaway_kafka(home, variable=bootstrap_variable) as (bootstrap, broker):
            yield Infrastructure(maintenance_url, bootstrap, postgres, broker)


async def create_database(maintenance_url: str, *, prefix: str, migrate: bool = True) -> str:
    """A new database ``<prefix>_<random>`` on the server; returns its SQLAlchemy URL.

    With ``migrate`` it is upgraded to every head (in a thread: Alembic runs its own loop).
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    dsn = make_url(maintenance_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(maintenance_url).set(database=name).render_as_string(hide_password=False)
    if migrate:
        await asyncio.to_thread(upgrade, url)
    return url


async def create_tenant_keys(database_url: str, name: str) -> CreatedTenant:
    """A new tenant with one write key and one secret key, committed."""
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            return await create_tenant(session, name)
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class DemoStack:
    """The four services and the console on throwaway infrastructure, the demo loaded."""

    services: dict[str, str]
    console: str
    tenant: CreatedTenant


@asynccontextmanager
async def running_demo(home: Path) -> AsyncIterator[DemoStack]:
    """Everything ``make dev`` runs, on a throwaway broker and PostgreSQL, with the demo
    replayed through the APIs and judged (for scripts such as the screenshots)."""
    import httpx

    from ampm.local.demo import load_scenario
    from ampm.local.demo_scenario import NORTHWIND
    from ampm.local.processes import ServiceProcess

    async with throwaway_infrastructure(home) as infrastructure:
        database = await create_database(infrastructure.maintenance_url, prefix="ampm_demo")
        tenant = await create_tenant_keys(database, "Demo vendor")
        environment = {
            "AMPM_DATABASE_URL": database,
            "AMPM_KAFKA_BOOTSTRAP_SERVERS": infrastructure.bootstrap_servers,
            "AMPM_NOTIFIER_ALLOWED_CIDRS": "127.0.0.0/8",
            "AMPM_CORRELATION_TAIL_IDLE_SECONDS": "1",
            "AMPM_EQUIVALENTS_DIGEST_DELAY_SECONDS": "0",
            "AMPM_EQUIVALENTS_DIGEST_POLL_SECONDS": "1",
            "AMPM_LOG_LEVEL": "warning",
        }
        names = ("ingest", "correlation", "equivalents", "notifier")
        processes = [ServiceProcess(name, environment, home) for name in names]
        console = ServiceProcess(
            "console",
            environment
            | {f"AMPM_CONSOLE_{p.name.upper()}_URL": p.url for p in processes}
            | {"AMPM_CONSOLE_SESSION_SECRET": uuid.uuid4().hex * 2},
            home,
        )
        try:
            await asyncio.gather(*(p.start() for p in processes))
            urls = {p.name: p.url for p in processes}
            secret = tenant.secret_key.plaintext
            await asyncio.to_thread(load_scenario, urls, tenant.write_key.plaintext, secret)
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(headers=headers) as http, asyncio.timeout(120):
                while True:
                    health = await http.get(f"{urls['correlation']}/v1/accounts/{NORTHWIND}/health")
                    if health.status_code == 200 and health.json()["judged_through"]:
                        break
                    await asyncio.sleep(0.5)
            await console.start()
            yield DemoStack(urls, console.url, tenant)
        finally:
            console.stop()
            for process in processes:
                process.stop()
