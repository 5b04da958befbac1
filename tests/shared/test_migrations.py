"""Migrations on the real PostgreSQL server: up, down, up again, and no model drift."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect

from shared.db import Base, create_engine
from shared.migrate import downgrade, drift, upgrade
from tests.conftest import PostgresServer

pytestmark = pytest.mark.integration


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_upgrade_downgrade_upgrade_is_clean(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)
    downgrade(url, "base")
    assert _tables(url) == {"alembic_version"}
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)


def test_models_do_not_drift_from_migrations(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    upgrade(url)
    assert drift(url) == []


def test_drift_is_reported_for_an_unmigrated_database(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    missing = {diff[1].name for diff in drift(url) if diff[0] == "add_table"}
    assert set(Base.metadata.tables) <= missing
