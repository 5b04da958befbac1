"""Claiming processed-event ids, on the real PostgreSQL server and on the embedded SQLite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation.tables import ProcessedEventRow
from shared.db import create_engine, create_session_factory
from shared.idempotency import claim_events
from shared.migrate import upgrade

pytestmark = pytest.mark.integration

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(params=["postgresql", "sqlite"])
async def claim_sessions(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[Sessions]:
    url = database_url
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ampm.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic runs its own event loop
    engine = create_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _keys(tenant: str, count: int) -> list[tuple[str, str]]:
    return [(tenant, str(uuid.uuid4())) for _ in range(count)]


async def _claim(sessions: Sessions, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    async with sessions.begin() as session:
        return await claim_events(session, ProcessedEventRow, keys)


async def test_only_ids_not_processed_before_are_claimed(claim_sessions: Sessions) -> None:
    tenant = f"tn_{uuid.uuid4().hex[:8]}"
    first = _keys(tenant, 1500)
    assert await _claim(claim_sessions, first) == set(first)

    later = _keys(tenant, 700)
    mixed = first[::3] + later
    assert await _claim(claim_sessions, mixed) == set(later)
    assert await _claim(claim_sessions, mixed) == set()
    async with claim_sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(ProcessedEventRow.tenant_id == tenant)
        )
    assert stored == 1500 + 700


async def test_the_same_event_id_of_two_tenants_is_two_events(claim_sessions: Sessions) -> None:
    shared_id = str(uuid.uuid4())
    one, other = (
        (f"tn_{uuid.uuid4().hex[:8]}", shared_id),
        (f"tn_{uuid.uuid4().hex[:8]}", shared_id),
    )
    assert await _claim(claim_sessions, [one]) == {one}
    assert await _claim(claim_sessions, [one, other]) == {other}


async def test_a_rolled_back_claim_leaves_the_ids_unclaimed(claim_sessions: Sessions) -> None:
    keys = _keys(f"tn_{uuid.uuid4().hex[:8]}", 10)
    with pytest.raises(RuntimeError):
        async with claim_sessions.begin() as session:
            assert await claim_events(session, ProcessedEventRow, keys) == set(keys)
            raise RuntimeError("the batch failed after claiming")
    assert await _claim(claim_sessions, keys) == set(keys)


async def test_claiming_nothing_touches_nothing(claim_sessions: Sessions) -> None:
    assert await _claim(claim_sessions, []) == set()
