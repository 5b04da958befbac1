"""SQLAlchemy queries of the correlation service: take a session, return domain types or rows.

This module holds accounts, people, pending events, plans and erasure; ``bucket_store`` the
metric buckets, ``progress_store`` each account's progress in event time, ``signal_store``
signals, health, the accounts list and the outbox.

Upserts are written per dialect (PostgreSQL in production and tests, SQLite for the local run)
through ``shared.db.insert_for``; both support ``ON CONFLICT`` and ``RETURNING``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation.plans import (
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from services.correlation.tables import (
    AccountRow,
    BlockerRow,
    BucketRow,
    HealthSnapshotRow,
    LifecycleMarkRow,
    OutboxRow,
    PendingEventRow,
    PersonRow,
    ProcessedEventRow,
    SignalRow,
    SuccessPlanRow,
)
from shared import idempotency
from shared.db import delete_tenant_rows, dialect_of, insert_for
from shared.erasure import mentions, scrub
from shared.signals import SignalState

# Roles people carry in events that map onto the stakeholder roles the rules know (compared
# in lower case, with spaces and hyphens as underscores: "Executive Sponsor" is a sponsor).
ROLE_ALIASES = {
    "executive_sponsor": StakeholderRole.SPONSOR,
    "exec_sponsor": StakeholderRole.SPONSOR,
    "adoption_lead": StakeholderRole.ADOPTION_OWNER,
    "manager": StakeholderRole.SUPERVISOR,
    "team_lead": StakeholderRole.SUPERVISOR,
    "end_user": StakeholderRole.USER,
    "member": StakeholderRole.USER,
}


# --- processed events -----------------------------------------------------------------------


async def claim_events(
    session: AsyncSession, tenant_event_ids: Collection[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Record event ids as processed; returns the new ones (the others are redeliveries)."""
    return await idempotency.claim_events(session, ProcessedEventRow, tenant_event_ids)


# --- accounts and people ------------------------------------------------------------------------


async def ensure_accounts(
    session: AsyncSession, keys: Collection[tuple[str, str]], now: datetime
) -> None:
    """Create the accounts that events or plans name, keeping existing ones as they are."""
    if not keys:
        return
    rows = [
        {"tenant_id": t, "account_id": a, "traits": {}, "created_at": now, "updated_at": now}
        for t, a in sorted(keys)
    ]
    await session.execute(
        insert_for(dialect_of(session), AccountRow).values(rows).on_conflict_do_nothing()
    )


async def identify_account(
    session: AsyncSession, tenant_id: str, account_id: str, traits: dict[str, Any], now: datetime
) -> None:
    """Merge traits into the account; ``name`` and ``segment`` get their own columns."""
    await ensure_accounts(session, [(tenant_id, account_id)], now)
    row = await session.get(AccountRow, (tenant_id, account_id), with_for_update=True)
    if row is None:  # created just above, in this transaction
        raise LookupError(f"account {account_id} vanished inside its transaction")
    merged = {**row.traits, **traits}
    row.traits = merged
    row.name = str(merged["name"]) if merged.get("name") is not None else row.name
    row.segment = str(merged["segment"]) if merged.get("segment") is not None else row.segment
    row.updated_at = now


async def account_exists(session: AsyncSession, tenant_id: str, account_id: str) -> bool:
    return await session.get(AccountRow, (tenant_id, account_id)) is not None


async def load_people(
    session: AsyncSession, tenant_id: str, person_ids: Collection[str]
) -> dict[str, PersonRow]:
    if not person_ids:
        return {}
    rows = await session.scalars(
        select(PersonRow).where(
            PersonRow.tenant_id == tenant_id, PersonRow.person_id.in_(person_ids)
        )
    )
    return {row.person_id: row for row in rows}


async def people_of(session: AsyncSession, tenant_id: str, account_id: str) -> list[PersonRow]:
    """Every person linked to the account, by person id."""
    return list(
        await session.scalars(
            select(PersonRow)
            .where(PersonRow.tenant_id == tenant_id, PersonRow.account_id == account_id)
            .order_by(PersonRow.person_id)
        )
    )


async def get_account(session: AsyncSession, tenant_id: str, account_id: str) -> AccountRow | None:
    return await session.get(AccountRow, (tenant_id, account_id))


async def open_signal_counts(
    session: AsyncSession, tenant_id: str, account_id: str
) -> dict[str, int]:
    """signal type -> how many of the account's signals of that type are open."""
    rows = await session.execute(
        select(SignalRow.signal_type, func.count())
        .where(
            SignalRow.tenant_id == tenant_id,
            SignalRow.account_id == account_id,
            SignalRow.state == SignalState.OPEN.value,
        )
        .group_by(SignalRow.signal_type)
    )
    return {signal_type: int(count) for signal_type, count in rows}


async def person(session: AsyncSession, tenant_id: str, person_id: str, now: datetime) -> PersonRow:
    """The person row, created (active, no account) when unknown."""
    row = await session.get(PersonRow, (tenant_id, person_id))
    if row is None:
        row = PersonRow(tenant_id=tenant_id, person_id=person_id, status="active", changed_at=now)
        session.add(row)
    return row


async def stakeholders(
    session: AsyncSession, tenant_id: str, account_id: str, plan: SuccessPlan | None
) -> tuple[Stakeholder, ...]:
    """The account's people with a known role; the plan's sponsor and owner count as such.

    The people a plan names are read whether or not an event linked them to the account yet, so
    a departure posted before the plan that names the person counts the same as one after it.
    """
    named = {}
    if plan is not None:
        if plan.sponsor_id:
            named[plan.sponsor_id] = StakeholderRole.SPONSOR
        if plan.adoption_owner_id:
            named[plan.adoption_owner_id] = StakeholderRole.ADOPTION_OWNER
    belongs = PersonRow.account_id == account_id
    if named:
        belongs = belongs | (PersonRow.person_id.in_(named) & PersonRow.account_id.is_(None))
    rows = await session.scalars(select(PersonRow).where(PersonRow.tenant_id == tenant_id, belongs))
    people = []
    for row in rows:
        role = named.get(row.person_id) or stakeholder_role(row.role)
        if role is None:
            continue
        status = (
            StakeholderStatus.DEPARTED if row.status == "departed" else StakeholderStatus.ACTIVE
        )
        people.append(Stakeholder(row.person_id, role, status, row.changed_at, row.name, row.title))
    return tuple(people)


def stakeholder_role(role: str | None) -> StakeholderRole | None:
    """The rules' role for a role string from events (None for roles they ignore)."""
    if role is None:
        return None
    normal = role.strip().lower().replace(" ", "_").replace("-", "_")
    if normal in ROLE_ALIASES:
        return ROLE_ALIASES[normal]
    try:
        return StakeholderRole(normal)
    except ValueError:
        return None


async def add_mark(
    session: AsyncSession, tenant_id: str, account_id: str, mark: str, occurred_at: datetime
) -> None:
    session.add(
        LifecycleMarkRow(
            tenant_id=tenant_id, account_id=account_id, mark=mark, occurred_at=occurred_at
        )
    )


async def marks_since(
    session: AsyncSession, tenant_id: str, account_id: str, since: datetime
) -> list[tuple[str, datetime]]:
    rows = await session.execute(
        select(LifecycleMarkRow.mark, LifecycleMarkRow.occurred_at).where(
            LifecycleMarkRow.tenant_id == tenant_id,
            LifecycleMarkRow.account_id == account_id,
            LifecycleMarkRow.occurred_at >= since,
        )
    )
    return [(mark, at) for mark, at in rows]


async def blocker_latest_at(
    session: AsyncSession, tenant_id: str, account_id: str, blocker_id: str
) -> datetime | None:
    """When the latest event applied about the account's blocker happened; None before one."""
    row = await session.get(BlockerRow, (tenant_id, account_id, blocker_id))
    return row.occurred_at if row is not None else None


async def note_blocker_event(
    session: AsyncSession,
    tenant_id: str,
    account_id: str,
    blocker_id: str,
    *,
    reported: bool,
    occurred_at: datetime,
) -> None:
    """Keep an event about the account's blocker when it is the latest in event time."""
    row = await session.get(BlockerRow, (tenant_id, account_id, blocker_id))
    if row is None:
        session.add(BlockerRow(tenant_id=tenant_id, account_id=account_id, blocker_id=blocker_id,
                               reported=reported, occurred_at=occurred_at))  # fmt: skip
    elif occurred_at >= row.occurred_at:
        row.reported, row.occurred_at = reported, occurred_at


# --- pending events ---------------------------------------------------------------------------


async def add_pending(
    session: AsyncSession, rows: Sequence[tuple[str, str, dict[str, Any]]]
) -> None:
    """Keep events of persons not linked to an account yet: (tenant, person, envelope JSON)."""
    session.add_all(
        PendingEventRow(tenant_id=t, person_id=p, envelope=envelope) for t, p, envelope in rows
    )


async def take_pending(
    session: AsyncSession, tenant_id: str, person_ids: Collection[str]
) -> list[dict[str, Any]]:
    """Remove and return the pending events of these persons."""
    if not person_ids:
        return []
    rows = await session.execute(
        delete(PendingEventRow)
        .where(PendingEventRow.tenant_id == tenant_id, PendingEventRow.person_id.in_(person_ids))
        .returning(PendingEventRow.envelope)
    )
    return [row[0] for row in rows]


# --- plans --------------------------------------------------------------------------------------


async def get_plan(session: AsyncSession, tenant_id: str, account_id: str) -> SuccessPlan | None:
    row = await session.get(SuccessPlanRow, (tenant_id, account_id))
    return SuccessPlan.model_validate(row.plan) if row else None


async def put_plan(session: AsyncSession, tenant_id: str, plan: SuccessPlan, now: datetime) -> None:
    row = await session.get(SuccessPlanRow, (tenant_id, plan.account_id))
    data = plan.model_dump(mode="json")
    if row is None:
        session.add(
            SuccessPlanRow(
                tenant_id=tenant_id, account_id=plan.account_id, plan=data, updated_at=now
            )
        )
    else:
        row.plan = data
        row.updated_at = now


async def delete_plan(session: AsyncSession, tenant_id: str, account_id: str) -> bool:
    """Remove the account's plan; False when it had none."""
    result = await session.execute(
        delete(SuccessPlanRow)
        .where(SuccessPlanRow.tenant_id == tenant_id, SuccessPlanRow.account_id == account_id)
        .returning(SuccessPlanRow.account_id)
    )
    return result.first() is not None


async def plans_with_trait(
    session: AsyncSession, tenant_id: str, trait: str, value: str
) -> list[SuccessPlan]:
    """Plans of the accounts whose trait ``trait`` equals ``value`` (compared as text).

    Traits are JSON of any shape, so they are matched here rather than in dialect-specific
    JSON SQL; a tenant's plans are few enough (one per account) to read in one query.
    """
    rows = await session.execute(
        select(SuccessPlanRow.plan, AccountRow.traits, AccountRow.segment)
        .join(
            AccountRow,
            (AccountRow.tenant_id == SuccessPlanRow.tenant_id)
            & (AccountRow.account_id == SuccessPlanRow.account_id),
        )
        .where(SuccessPlanRow.tenant_id == tenant_id)
        .order_by(SuccessPlanRow.account_id)
    )
    plans = []
    for plan, traits, segment in rows:
        known = segment if trait == "segment" else (traits or {}).get(trait)
        if known is not None and str(known) == value:
            plans.append(SuccessPlan.model_validate(plan))
    return plans


# --- erasure ----------------------------------------------------------------------------------

# Children before parents; every table of the service.
TENANT_TABLES = (
    OutboxRow,
    HealthSnapshotRow,
    SignalRow,
    SuccessPlanRow,
    PendingEventRow,
    ProcessedEventRow,
    BucketRow,
    BlockerRow,
    LifecycleMarkRow,
    PersonRow,
    AccountRow,
)


async def erase_tenant(session: AsyncSession, tenant_id: str) -> None:
    await delete_tenant_rows(session, TENANT_TABLES, tenant_id)


async def erase_person(session: AsyncSession, tenant_id: str, person_id: str) -> None:
    """Delete the person and the events waiting for them; take their id, name and title out
    of every stored plan, signal and signal change. Buckets keep their counts: they name no
    one."""
    people = {person_id}
    await session.execute(
        delete(PersonRow).where(PersonRow.tenant_id == tenant_id, PersonRow.person_id == person_id)
    )
    await session.execute(
        delete(PendingEventRow).where(
            PendingEventRow.tenant_id == tenant_id, PendingEventRow.person_id == person_id
        )
    )
    for plan in await _naming(session, SuccessPlanRow, SuccessPlanRow.plan, tenant_id, person_id):
        plan.plan = {
            key: (None if key in ("sponsor_id", "adoption_owner_id") and value == person_id
                  else value)
            for key, value in plan.plan.items()
        }  # fmt: skip
    for signal in await _naming(session, SignalRow, SignalRow.evidence, tenant_id, person_id):
        signal.evidence = scrub(signal.evidence, people)
    resolved = await _naming(session, SignalRow, SignalRow.resolution, tenant_id, person_id)
    for signal in resolved:
        signal.resolution = scrub(signal.resolution, people)
    for change in await _naming(session, OutboxRow, OutboxRow.payload, tenant_id, person_id):
        change.payload = scrub(change.payload, people)


async def _naming(
    session: AsyncSession, table: Any, column: Any, tenant_id: str, person_id: str
) -> list[Any]:
    """The tenant's rows whose JSON ``column`` names the person (a text search narrows, the
    JSON check decides)."""
    rows = await session.scalars(
        select(table).where(table.tenant_id == tenant_id, cast(column, String).contains(person_id))
    )
    return [row for row in rows if mentions(getattr(row, column.key), {person_id})]
