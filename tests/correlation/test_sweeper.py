"""Time alone changes signals: the sweep re-evaluates accounts no event touched (PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation import progress_store, signal_store
from services.correlation.event_time import clock_through
from services.correlation.handlers import process_records, sweep_stale_accounts
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import OutboxRow
from shared.events import EventKind
from shared.signals import SignalState
from shared.tenancy.store import CreatedTenant
from tests.correlation.support import envelope, record

pytestmark = pytest.mark.integration

ACCOUNT = "globex"


async def reorganization_state(
    sessions: async_sessionmaker[AsyncSession], tenant_id: str
) -> list[str]:
    async with sessions() as session:
        return [
            row.state
            for row in await signal_store.signals_of(session, tenant_id, ACCOUNT)
            if row.signal_type == "reorganization"
        ]


async def outbox_types(sessions: async_sessionmaker[AsyncSession], tenant_id: str) -> list[Any]:
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxRow.payload)
            .where(OutboxRow.tenant_id == tenant_id, OutboxRow.account_id == ACCOUNT)
            .order_by(OutboxRow.seq)
        )
        return [(p["type"], p.get("signal_type")) for p in rows]


async def test_a_quiet_reorganization_resolves_without_new_events(
    sessions: async_sessionmaker[AsyncSession],
    tenant: CreatedTenant,
    base_settings: dict[str, object],
) -> None:
    settings = CorrelationSettings(**base_settings)  # type: ignore[arg-type]
    tenant_id = tenant.tenant.id
    start = datetime.now(UTC) - timedelta(days=60)
    reorganized = envelope(
        tenant_id, "org.reorganized", start, kind=EventKind.LIFECYCLE, account_id=ACCOUNT
    )
    await process_records(sessions, [record(reorganized)], settings, now=start)
    assert await reorganization_state(sessions, tenant_id) == [SignalState.OPEN.value]

    # Ten days on: swept (stale for more than the interval), but the window is not quiet yet.
    await sweep_stale_accounts(sessions, settings, now=start + timedelta(days=10))
    assert await reorganization_state(sessions, tenant_id) == [SignalState.OPEN.value]

    # After the quiet window the sweep resolves it, and says so on the outbox once.
    quiet = start + timedelta(days=settings.reorganization_quiet_days + 1)
    await sweep_stale_accounts(sessions, settings, now=quiet)
    assert await reorganization_state(sessions, tenant_id) == [SignalState.RESOLVED.value]
    resolved = ("signal.resolved", "reorganization")
    assert (await outbox_types(sessions, tenant_id)).count(resolved) == 1

    # Evaluated a minute ago, so a second sweep leaves the account alone.
    await sweep_stale_accounts(sessions, settings, now=quiet + timedelta(minutes=1))
    async with sessions() as session:
        evaluated = await signal_store.evaluated_at(session, tenant_id, [ACCOUNT])
    assert evaluated[ACCOUNT] == quiet


async def test_an_account_whose_history_arrived_waits_while_its_tenant_backfills_others(
    sessions: async_sessionmaker[AsyncSession],
    tenant: CreatedTenant,
    base_settings: dict[str, object],
) -> None:
    """Account after account, the first account's history (ending three weeks ago) arrived two
    hours ago while the tenant is still sending the next one's: its missing weeks are on their
    way, so the sweep does not read them as zero usage until the tenant's stream goes quiet."""
    settings = CorrelationSettings(**{**base_settings, "sweep_interval_seconds": 3600.0})  # type: ignore[arg-type]
    tenant_id = tenant.tenant.id
    now = datetime.now(UTC)
    history_end = now - timedelta(weeks=3)

    async def arrives(account: str, at: datetime) -> None:
        event = envelope(tenant_id, "report.viewed", history_end, account_id=account)
        await process_records(sessions, [record(event)], settings, now=at)

    async def judged_through(account: str) -> str | None:
        async with sessions() as session:
            progress = await progress_store.progress_of(session, tenant_id, [account])
        return progress[account].judged_through

    await arrives("first", now - timedelta(hours=2))
    await arrives("second", now - timedelta(minutes=1))
    await sweep_stale_accounts(sessions, settings, now=now)
    assert await judged_through("first") is None

    later = now + timedelta(hours=2)
    await sweep_stale_accounts(sessions, settings, now=later)
    assert await judged_through("first") == clock_through(later, settings.evaluation)
