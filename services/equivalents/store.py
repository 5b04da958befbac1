"""Queries of the equivalents service; every one is scoped to a tenant.

Upserts use the dialect's ``INSERT ... ON CONFLICT`` (PostgreSQL in production and tests, SQLite
for the local run), so a redelivered event or a concurrent writer never double counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.equivalents.account_value import MetricTotal
from services.equivalents.catalog import Entry
from services.equivalents.catalog_notices import CATALOG_CHANNEL
from services.equivalents.tables import (
    AccountSeatsRow,
    ActivePersonRow,
    DailyTotalRow,
    DigestRow,
    ProcessedEventRow,
    TenantEntryRow,
    TenantSettingsRow,
)
from services.equivalents.usage import ActivePerson, DailyTotal, Seats
from shared import idempotency
from shared.db import delete_tenant_rows, dialect_of, insert_for


@dataclass(frozen=True, slots=True)
class TenantSettings:
    """A tenant's stored parameters (as given), conversion modes per metric and digest
    preferences (None: the defaults)."""

    params: dict[str, float | str]
    modes: dict[str, str]
    digest: dict[str, Any] | None = None


# --- Tenant catalog entries and settings ---------------------------------------------------
# Every write here sends a change notice in its transaction (``_changed``): PostgreSQL delivers
# it to every listening instance on commit, and drops it on rollback.


async def _changed(session: AsyncSession, tenant_id: str) -> None:
    """Tell every instance, when this transaction commits, that the tenant's catalog changed."""
    if dialect_of(session) == "postgresql":
        await session.execute(select(func.pg_notify(CATALOG_CHANNEL, tenant_id)))


async def tenant_entries(session: AsyncSession, tenant_id: str) -> list[Entry]:
    """The tenant's own entries, in id order."""
    definitions = await session.scalars(
        select(TenantEntryRow.definition)
        .where(TenantEntryRow.tenant_id == tenant_id)
        .order_by(TenantEntryRow.entry_id)
    )
    return [Entry.model_validate(definition) for definition in definitions]


async def has_entry(session: AsyncSession, tenant_id: str, entry_id: str) -> bool:
    row = await session.get(TenantEntryRow, (tenant_id, entry_id))
    return row is not None


async def insert_entry(session: AsyncSession, tenant_id: str, entry: Entry) -> bool:
    """Add the tenant's entry; False (nothing written) when the tenant already has this id."""
    statement = (
        insert_for(dialect_of(session), TenantEntryRow)
        .values(tenant_id=tenant_id, entry_id=entry.id, definition=entry.model_dump(mode="json"))
        .on_conflict_do_nothing(index_elements=["tenant_id", "entry_id"])
        .returning(TenantEntryRow.entry_id)
    )
    inserted = (await session.execute(statement)).first() is not None
    if inserted:
        await _changed(session, tenant_id)
    return inserted


async def upsert_entry(session: AsyncSession, tenant_id: str, entry: Entry) -> None:
    """Create or replace the tenant's entry (concurrent writers: the last one wins)."""
    statement = insert_for(dialect_of(session), TenantEntryRow).values(
        tenant_id=tenant_id, entry_id=entry.id, definition=entry.model_dump(mode="json")
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "entry_id"],
        set_={"definition": statement.excluded.definition, "updated_at": func.now()},
    )
    await session.execute(statement)
    await _changed(session, tenant_id)


async def delete_entry(session: AsyncSession, tenant_id: str, entry_id: str) -> bool:
    """Delete the tenant's entry; False when it had none with this id."""
    result = await session.execute(
        delete(TenantEntryRow).where(
            TenantEntryRow.tenant_id == tenant_id, TenantEntryRow.entry_id == entry_id
        )
    )
    deleted = bool(getattr(result, "rowcount", 0))
    if deleted:
        await _changed(session, tenant_id)
    return deleted


async def tenant_settings(session: AsyncSession, tenant_id: str) -> TenantSettings:
    """The tenant's settings; empty when it never set any."""
    row = await session.get(TenantSettingsRow, tenant_id)
    if row is None:
        return TenantSettings({}, {})
    return TenantSettings(dict(row.params), dict(row.modes), row.digest)


async def put_settings(session: AsyncSession, tenant_id: str, settings: TenantSettings) -> None:
    """Replace the tenant's settings."""
    statement = insert_for(dialect_of(session), TenantSettingsRow).values(
        tenant_id=tenant_id, params=settings.params, modes=settings.modes, digest=settings.digest
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id"],
        set_={
            "params": statement.excluded.params,
            "modes": statement.excluded.modes,
            "digest": statement.excluded.digest,
            "updated_at": func.now(),
        },
    )
    await session.execute(statement)
    await _changed(session, tenant_id)


# --- Consumer writes ---------------------------------------------------------------------------


async def claim_events(
    session: AsyncSession, ids: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Record (tenant, event id) pairs as processed; returns those not processed before."""
    return await idempotency.claim_events(session, ProcessedEventRow, ids)


async def add_daily_totals(session: AsyncSession, totals: Iterable[DailyTotal]) -> None:
    """Add to the daily totals, creating the rows that do not exist yet."""
    values = [
        {
            "tenant_id": t.tenant_id,
            "account_id": t.account_id,
            "metric": t.metric,
            "unit": t.unit,
            "day": t.day,
            "total": t.total,
            "events": t.events,
        }
        for t in totals
    ]
    if not values:
        return
    statement = insert_for(dialect_of(session), DailyTotalRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "account_id", "metric", "unit", "day"],
        set_={
            "total": DailyTotalRow.total + statement.excluded.total,
            "events": DailyTotalRow.events + statement.excluded.events,
        },
    )
    await session.execute(statement)


async def add_active_people(session: AsyncSession, people: Iterable[ActivePerson]) -> None:
    """Remember who was active on which day; a person counts once per account and day."""
    values = [
        {
            "tenant_id": p.tenant_id,
            "account_id": p.account_id,
            "day": p.day,
            "person_id": p.person_id,
        }
        for p in people
    ]
    if not values:
        return
    statement = (
        insert_for(dialect_of(session), ActivePersonRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "account_id", "day", "person_id"])
    )
    await session.execute(statement)


async def set_seats(session: AsyncSession, seats: Iterable[Seats]) -> None:
    """Store licensed seats unless a later event already set them."""
    for item in seats:
        statement = insert_for(dialect_of(session), AccountSeatsRow).values(
            tenant_id=item.tenant_id, account_id=item.account_id, seats=item.seats, as_of=item.as_of
        )
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "account_id"],
            set_={"seats": statement.excluded.seats, "as_of": statement.excluded.as_of},
            where=AccountSeatsRow.as_of <= statement.excluded.as_of,
        )
        await session.execute(statement)


# --- Account reads -----------------------------------------------------------------------------


async def account_known(session: AsyncSession, tenant_id: str, account_id: str) -> bool:
    """Whether the tenant ever sent usage or seats for this account."""
    usage = await session.scalar(
        select(DailyTotalRow.day)
        .where(DailyTotalRow.tenant_id == tenant_id, DailyTotalRow.account_id == account_id)
        .limit(1)
    )
    if usage is not None:
        return True
    return await account_seats(session, tenant_id, account_id) is not None


async def period_totals(
    session: AsyncSession, tenant_id: str, account_id: str, first: date, last: date
) -> list[tuple[MetricTotal, int]]:
    """Each (metric, unit) total of the account over ``first..last`` inclusive, with event counts."""
    rows = await session.execute(
        select(
            DailyTotalRow.metric,
            DailyTotalRow.unit,
            func.sum(DailyTotalRow.total).label("total"),
            func.sum(DailyTotalRow.events).label("events"),
        )
        .where(
            DailyTotalRow.tenant_id == tenant_id,
            DailyTotalRow.account_id == account_id,
            DailyTotalRow.day >= first,
            DailyTotalRow.day <= last,
        )
        .group_by(DailyTotalRow.metric, DailyTotalRow.unit)
        .order_by(DailyTotalRow.metric, DailyTotalRow.unit)
    )
    return [(MetricTotal(row.metric, row.unit, float(row.total)), int(row.events)) for row in rows]


async def active_people(
    session: AsyncSession, tenant_id: str, account_id: str, first: date, last: date
) -> int:
    """Distinct people active for the account over ``first..last`` inclusive."""
    count = await session.scalar(
        select(func.count(func.distinct(ActivePersonRow.person_id))).where(
            ActivePersonRow.tenant_id == tenant_id,
            ActivePersonRow.account_id == account_id,
            ActivePersonRow.day >= first,
            ActivePersonRow.day <= last,
        )
    )
    return int(count or 0)


async def account_seats(session: AsyncSession, tenant_id: str, account_id: str) -> int | None:
    """The account's licensed seats, or None when no event reported them."""
    row = await session.get(AccountSeatsRow, (tenant_id, account_id))
    return row.seats if row is not None else None


# --- Value digests -----------------------------------------------------------------------------


async def accounts_with_usage(
    session: AsyncSession, first: date, last: date
) -> list[tuple[str, str]]:
    """(tenant, account) pairs with usage totals over ``first..last`` inclusive."""
    rows = await session.execute(
        select(DailyTotalRow.tenant_id, DailyTotalRow.account_id)
        .where(DailyTotalRow.day >= first, DailyTotalRow.day <= last)
        .distinct()
        .order_by(DailyTotalRow.tenant_id, DailyTotalRow.account_id)
    )
    return [(tenant_id, account_id) for tenant_id, account_id in rows]


async def digested_accounts(
    session: AsyncSession, tenant_id: str, period: str, account_ids: Sequence[str]
) -> set[str]:
    """The accounts among ``account_ids`` whose digest of ``period`` exists."""
    rows = await session.scalars(
        select(DigestRow.account_id).where(
            DigestRow.tenant_id == tenant_id,
            DigestRow.period == period,
            DigestRow.account_id.in_(account_ids),
        )
    )
    return set(rows)


async def first_usage_day(session: AsyncSession, tenant_id: str, account_id: str) -> date | None:
    """The account's first day with usage."""
    return await session.scalar(
        select(func.min(DailyTotalRow.day)).where(
            DailyTotalRow.tenant_id == tenant_id, DailyTotalRow.account_id == account_id
        )
    )


async def add_digest(
    session: AsyncSession,
    *,
    tenant_id: str,
    account_id: str,
    period: str,
    period_start: date,
    body: dict[str, Any],
    now: datetime,
) -> bool:
    """Store a period's digest unless another writer stored it first; whether this one did."""
    statement = (
        insert_for(dialect_of(session), DigestRow)
        .values(
            tenant_id=tenant_id,
            account_id=account_id,
            period=period,
            period_start=period_start,
            body=body,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "account_id", "period"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def unpublished_digests(session: AsyncSession, limit: int) -> list[DigestRow]:
    """Digests not yet acknowledged by the broker, oldest first, locked for this publisher."""
    rows = await session.scalars(
        select(DigestRow)
        .where(DigestRow.published_at.is_(None))
        .order_by(DigestRow.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def digests_of(
    session: AsyncSession, tenant_id: str, account_id: str, first: date, last: date
) -> list[DigestRow]:
    """The account's digests whose period starts within ``first..last``, oldest first."""
    rows = await session.scalars(
        select(DigestRow)
        .where(
            DigestRow.tenant_id == tenant_id,
            DigestRow.account_id == account_id,
            DigestRow.period_start >= first,
            DigestRow.period_start <= last,
        )
        .order_by(DigestRow.period_start)
    )
    return list(rows)


# --- erasure ----------------------------------------------------------------------------------

TENANT_TABLES = (
    DigestRow,
    AccountSeatsRow,
    ActivePersonRow,
    DailyTotalRow,
    ProcessedEventRow,
    TenantSettingsRow,
    TenantEntryRow,
)


async def erase_tenant(session: AsyncSession, tenant_id: str) -> None:
    await delete_tenant_rows(session, TENANT_TABLES, tenant_id)
    await _changed(session, tenant_id)


async def pseudonymise_person(
    session: AsyncSession, tenant_id: str, person_id: str, pseudonym: str
) -> None:
    """Replace the person's id on the days they were active by a pseudonym of its own, so
    adoption still counts them as one person among the active ones but names no one."""
    await session.execute(
        update(ActivePersonRow)
        .where(ActivePersonRow.tenant_id == tenant_id, ActivePersonRow.person_id == person_id)
        .values(person_id=pseudonym)
    )
