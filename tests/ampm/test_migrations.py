"""Migrations on the real PostgreSQL server: up, down, up again, and no model drift."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect, text

from ampm.migrate import downgrade, drift, upgrade
from shared.db import Base, create_engine
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


def test_the_notifier_keeps_the_ids_it_handled_when_their_table_is_rekeyed(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    upgrade(url, "notifier_0002")

    async def run(statement: str) -> list[tuple[str, str]]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement))
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    asyncio.run(
        run(
            "INSERT INTO notifier_processed_changes (change_id, tenant_id) "
            "VALUES ('chg-1', 'tn_a'), ('dig-2', 'tn_b')"
        )
    )
    upgrade(url)
    moved = asyncio.run(run("SELECT tenant_id, event_id FROM notifier_processed_messages"))
    assert sorted(moved) == [("tn_a", "chg-1"), ("tn_b", "dig-2")]
