"""Session-wide real infrastructure: a Kafka broker and a PostgreSQL database.

Both start lazily, only for tests that ask for them. ``AMPM_DATABASE_URL`` (a server URL whose
database is used as the maintenance database) and ``AMPM_TEST_KAFKA_BOOTSTRAP`` point the tests
at existing servers instead.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ampm.local.kafka import LocalBroker, throwaway_broker
from ampm.local.postgres import LocalPostgres
from ampm.local.stack import create_database
from ampm.migrate import upgrade
from shared.db import create_engine, create_session_factory
from shared.settings import ServiceSettings
from shared.tenancy.store import CreatedTenant, create_tenant


class PostgresServer:
    """Where the test databases live: a throwaway local cluster or a given server."""

    def __init__(self, maintenance_url: str, local: LocalPostgres | None) -> None:
        self.maintenance_url = maintenance_url
        self.local = local

    def url_for(self, database: str) -> str:
        return (
            make_url(self.maintenance_url)
            .set(database=database)
            .render_as_string(hide_password=False)
        )

    def create_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        return asyncio.run(create_database(self.maintenance_url, prefix="ampm_test", migrate=False))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    given = os.environ.get("AMPM_DATABASE_URL")
    if given:
        yield PostgresServer(given, None)
        return
    local = LocalPostgres()
    local.start()
    try:
        yield PostgresServer(local.url("postgres"), local)
    finally:
        local.destroy()


@pytest.fixture(scope="session")
def database_url(postgres_server: PostgresServer) -> str:
    """One fresh database for the test run, migrated to head."""
    url = postgres_server.create_database()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[LocalBroker | None]:
    if os.environ.get("AMPM_TEST_KAFKA_BOOTSTRAP"):
        yield None
        return
    broker = throwaway_broker(Path(tempfile.mkdtemp(prefix="ampm-kafka-")))
    broker.start()
    try:
        seconds = asyncio.run(broker.wait_ready())
        print(f"\nkafka broker ready in {seconds:.1f}s on {broker.config.bootstrap_servers}")
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: LocalBroker | None) -> str:
    return (
        kafka_broker.config.bootstrap_servers
        if kafka_broker
        else os.environ["AMPM_TEST_KAFKA_BOOTSTRAP"]
    )


@pytest.fixture
def topic_namespace() -> str:
    """A unique prefix so each test has its own topics."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def base_settings(
    database_url: str, kafka_bootstrap: str, topic_namespace: str
) -> dict[str, object]:
    """Keyword arguments every service's Settings takes in an integration test."""
    return {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_namespace": topic_namespace,
        "topic_partitions": 3,
        "admin_token": "test-admin-token",
        "log_json": False,
    }


@pytest.fixture
def service_settings(base_settings: dict[str, object]) -> ServiceSettings:
    return ServiceSettings(**base_settings)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> CreatedTenant:
    """A fresh tenant with a write key and a secret key."""
    async with sessions.begin() as session:
        return await create_tenant(session, f"tenant-{uuid.uuid4().hex[:6]}")


@pytest.fixture
async def other_tenant(sessions: async_sessionmaker[AsyncSession]) -> CreatedTenant:
    async with sessions.begin() as session:
        return await create_tenant(session, f"other-{uuid.uuid4().hex[:6]}")
