"""Claiming and forgetting processed-event ids, on the real PostgreSQL server and on SQLite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ampm.migrate import upgrade
from services.correlation.tables import ProcessedEventRow
from shared.db import create_engine, create_session_factory
from shared.idempotency import claim_events, forget_events, keep_processed_events
from tests.support.waiting import eventually

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


async def _age(sessions: Sessions, keys: list[tuple[str, str]], days: int) -> None:
    async with sessions.begin() as session:
        for tenant, event in keys:
            await session.execute(
                update(ProcessedEventRow)
                .where(ProcessedEventRow.tenant_id == tenant, ProcessedEventRow.event_id == event)
                .values(processed_at=datetime.now(UTC) - timedelta(days=days))
            )


async def test_ids_past_retention_are_forgotten_in_batches_and_recent_ones_kept(
    claim_sessions: Sessions,
) -> None:
    tenant = f"tn_{uuid.uuid4().hex[:8]}"
    old, recent = _keys(tenant, 25), _keys(tenant, 5)
    await _claim(claim_sessions, old + recent)
    await _age(claim_sessions, old, days=20)
    before = datetime.now(UTC) - timedelta(days=14)

    async with claim_sessions.begin() as session:
        assert await forget_events(session, ProcessedEventRow, before, limit=10) == 10
    async with claim_sessions.begin() as session:
        assert await forget_events(session, ProcessedEventRow, before, limit=100) == 15
    async with claim_sessions.begin() as session:
        assert await forget_events(session, ProcessedEventRow, before, limit=100) == 0
    # Forgotten ids are new again; remembered ones are still redeliveries.
    assert await _claim(claim_sessions, old[:3] + recent) == set(old[:3])


async def test_the_retention_loop_forgets_until_cancelled(claim_sessions: Sessions) -> None:
    tenant = f"tn_{uuid.uuid4().hex[:8]}"
    old, recent = _keys(tenant, 7), _keys(tenant, 2)
    await _claim(claim_sessions, old + recent)
    await _age(claim_sessions, old, days=3)
    loop = asyncio.create_task(
        keep_processed_events(
            claim_sessions,
            ProcessedEventRow,
            retention=timedelta(days=1),
            batch_size=3,
            pause_seconds=0.05,
        )
    )
    try:
        async with asyncio.timeout(10):
            while True:
                if await _remembered(claim_sessions, tenant) == 2:
                    break
                await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert await _claim(claim_sessions, recent) == set()


async def _remembered(sessions: Sessions, tenant: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(ProcessedEventRow.tenant_id == tenant)
        )
    return int(count or 0)


async def test_ids_a_concurrent_transaction_claims_are_claimed_once(
    sessions: Sessions,
) -> None:
    keys = _keys(f"tn_{uuid.uuid4().hex[:8]}", 3)

    async def claim_all() -> set[tuple[str, str]]:
        async with sessions.begin() as session:
            return await claim_events(session, ProcessedEventRow, keys)

    async with sessions.begin() as first:
        assert await claim_events(first, ProcessedEventRow, keys[:2]) == set(keys[:2])
        second = asyncio.create_task(claim_all())

        async def second_waits_on_a_lock() -> bool:
            async with sessions() as probe:
                waiting = await probe.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            return bool(waiting)

        # PostgreSQL holds the second claim until the first transaction ends.
        await eventually(second_waits_on_a_lock)
        assert not second.done()
    assert await second == {keys[2]}
