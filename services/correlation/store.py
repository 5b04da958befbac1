"""SQLAlchemy queries of the correlation service: take a session, return domain types or rows.

Upserts are written per dialect (PostgreSQL in production and tests, SQLite for the local run)
through ``shared.db.insert_for``; both support ``ON CONFLICT`` and ``RETURNING``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation.buckets import Bucket, PeriodUnit
from services.correlation.evaluation import Progress
from services.correlation.plans import (
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from services.correlation.tables import (
    AccountRow,
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
from shared.signals import SignalChange, SignalState, SignalType

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


# --- buckets ----------------------------------------------------------------------------------


async def upsert_buckets(session: AsyncSession, deltas: Iterable[Bucket]) -> None:
    """Fold each batch-level bucket into the stored one (created when missing)."""
    rows = [
        {
            "tenant_id": b.tenant_id,
            "account_id": b.account_id,
            "metric": b.metric,
            "unit": b.unit.value,
            "period_key": b.period_key,
            "count": b.count,
            "sum": b.sum,
            "min": b.min,
            "max": b.max,
            "last_value": b.last_value,
            "last_at": b.last_at,
        }
        for b in deltas
    ]
    if rows:
        await session.execute(_bucket_upsert(dialect_of(session)), rows)


@functools.cache
def _bucket_upsert(dialect: str) -> Any:
    """The bucket upsert, built once per dialect: building it costs more than a batch's rows."""
    postgres = dialect == "postgresql"
    greatest, least = (func.greatest, func.least) if postgres else (func.max, func.min)
    table = BucketRow.__table__
    old = table.c
    statement = insert_for(dialect, BucketRow)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "account_id", "metric", "unit", "period_key"],
        set_={
            "count": old.count + new.count,
            "sum": old.sum + new.sum,
            "min": least(old.min, new.min),
            "max": greatest(old.max, new.max),
            # A late value older than the stored one changes aggregates, not the last value.
            "last_value": case((new.last_at >= old.last_at, new.last_value), else_=old.last_value),
            "last_at": greatest(old.last_at, new.last_at),
        },
    )


async def load_buckets(
    session: AsyncSession,
    tenant_id: str,
    account_ids: Collection[str],
    metrics: Collection[str],
    unit: PeriodUnit,
    first_period: str,
) -> dict[str, dict[str, list[Bucket]]]:
    """account -> metric -> buckets from ``first_period`` on (period keys sort as text)."""
    rows = await session.scalars(
        select(BucketRow).where(
            BucketRow.tenant_id == tenant_id,
            BucketRow.account_id.in_(account_ids),
            BucketRow.metric.in_(metrics),
            BucketRow.unit == unit.value,
            BucketRow.period_key >= first_period,
        )
    )
    found: dict[str, dict[str, list[Bucket]]] = {}
    for row in rows:
        found.setdefault(row.account_id, {}).setdefault(row.metric, []).append(_bucket(row))
    return found


def _bucket(row: BucketRow) -> Bucket:
    return Bucket(
        tenant_id=row.tenant_id,
        account_id=row.account_id,
        metric=row.metric,
        unit=PeriodUnit(row.unit),
        period_key=row.period_key,
        count=row.count,
        sum=row.sum,
        min=row.min,
        max=row.max,
        last_value=row.last_value,
        last_at=row.last_at,
    )


async def metric_totals(
    session: AsyncSession, tenant_id: str, account_id: str
) -> dict[str, tuple[int, float]]:
    """metric -> (events, sum) over every period of the account."""
    rows = await session.execute(
        select(BucketRow.metric, func.sum(BucketRow.count), func.sum(BucketRow.sum))
        .where(BucketRow.tenant_id == tenant_id, BucketRow.account_id == account_id)
        .group_by(BucketRow.metric)
    )
    return {metric: (int(count), float(total)) for metric, count, total in rows}


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


async def advance_accounts(
    session: AsyncSession,
    touched: Collection[tuple[str, str]],
    watermarks: Mapping[tuple[str, str], datetime],
    now: datetime,
) -> dict[tuple[str, str], Progress]:
    """Create the touched accounts when missing, move each one's watermark to the latest value
    time applied (never back) and stamp it touched now; returns each one's progress. The rows
    stay locked until the transaction ends, in key order, which serialises evaluations."""
    if not touched:
        return {}
    rows: list[dict[str, Any]] = [
        {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "traits": {},
            "created_at": now,
            "updated_at": now,
            "watermark": watermarks.get((tenant_id, account_id)),
            "touched_at": now,
        }
        for tenant_id, account_id in sorted(touched)
    ]
    result = await session.execute(_advance(dialect_of(session)), rows)
    return {(row.tenant_id, row.account_id): _progress(row) for row in result}


@functools.cache
def _advance(dialect: str) -> Any:
    """The accounts upsert of ``advance_accounts``, built once per dialect."""
    postgres = dialect == "postgresql"
    greatest = func.greatest if postgres else func.max
    table = AccountRow.__table__
    statement = insert_for(dialect, AccountRow)
    new = statement.excluded
    # SQLite's max() of a NULL is NULL, PostgreSQL's greatest() skips it: coalesce both ways.
    watermark = func.coalesce(
        greatest(table.c.watermark, new.watermark), table.c.watermark, new.watermark
    )
    return statement.on_conflict_do_update(
        index_elements=["tenant_id", "account_id"],
        set_={"watermark": watermark, "touched_at": new.touched_at},
    ).returning(*_PROGRESS_COLUMNS)


_PROGRESS_COLUMNS = (
    AccountRow.tenant_id,
    AccountRow.account_id,
    AccountRow.watermark,
    AccountRow.judged_through,
    AccountRow.rejudge,
    AccountRow.touched_at,
)


def _progress(row: Any) -> Progress:
    return Progress(
        watermark=row.watermark,
        judged_through=row.judged_through,
        rejudge=bool(row.rejudge),
        touched_at=row.touched_at,
    )


async def progress_of(
    session: AsyncSession, tenant_id: str, account_ids: Collection[str]
) -> dict[str, Progress]:
    """The progress of these accounts (absent: unknown accounts)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(*_PROGRESS_COLUMNS).where(
            AccountRow.tenant_id == tenant_id, AccountRow.account_id.in_(account_ids)
        )
    )
    return {row.account_id: _progress(row) for row in rows}


async def flag_rejudge(session: AsyncSession, keys: Collection[tuple[str, str]]) -> None:
    """Note that values arrived for periods these accounts had judged already."""
    if keys:
        await session.execute(
            update(AccountRow)
            .where(tuple_(AccountRow.tenant_id, AccountRow.account_id).in_(sorted(keys)))
            .values(rejudge=True)
        )


async def set_judged(session: AsyncSession, tenant_id: str, account_id: str, through: str) -> None:
    """The period rules judged the account through ``through``, with every value applied."""
    await session.execute(
        update(AccountRow)
        .where(AccountRow.tenant_id == tenant_id, AccountRow.account_id == account_id)
        .values(judged_through=through, rejudge=False)
    )


async def idle_accounts(
    session: AsyncSession,
    *,
    clock: str,
    tail_since: datetime,
    tail_watermark: datetime,
    quiet_since: datetime,
    limit: int,
) -> list[tuple[str, str]]:
    """(tenant, account) pairs with a period the wall clock completed left to judge (or late
    data to judge again) that no event touched since ``tail_since`` while their watermark
    reaches ``tail_watermark`` (only the last period is missing), or since ``quiet_since``."""
    left = (
        AccountRow.judged_through.is_(None)
        | (AccountRow.judged_through < clock)
        | AccountRow.rejudge.is_(True)
    )
    idle = ((AccountRow.touched_at < tail_since) & (AccountRow.watermark >= tail_watermark)) | (
        AccountRow.touched_at < quiet_since
    )
    rows = await session.execute(
        select(AccountRow.tenant_id, AccountRow.account_id)
        .where(left, idle)
        .order_by(AccountRow.touched_at)
        .limit(limit)
    )
    return [(tenant_id, account_id) for tenant_id, account_id in rows]


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


# --- signals ----------------------------------------------------------------------------------


async def signals_of(
    session: AsyncSession, tenant_id: str, account_id: str, state: SignalState | None = None
) -> list[SignalRow]:
    query = select(SignalRow).where(
        SignalRow.tenant_id == tenant_id, SignalRow.account_id == account_id
    )
    if state is not None:
        query = query.where(SignalRow.state == state.value)
    return list(await session.scalars(query.order_by(SignalRow.raised_at, SignalRow.id)))


async def get_signal(
    session: AsyncSession, tenant_id: str, account_id: str, signal_id: str
) -> SignalRow | None:
    row = await session.get(SignalRow, signal_id, with_for_update=True)
    if row is None or row.tenant_id != tenant_id or row.account_id != account_id:
        return None
    return row


async def reorganization_acknowledged_at(
    session: AsyncSession, tenant_id: str, account_id: str
) -> datetime | None:
    result: datetime | None = await session.scalar(
        select(func.max(SignalRow.acknowledged_at)).where(
            SignalRow.tenant_id == tenant_id,
            SignalRow.account_id == account_id,
            SignalRow.signal_type == SignalType.REORGANIZATION.value,
        )
    )
    return result


def add_signal(session: AsyncSession, row: SignalRow) -> None:
    session.add(row)


# --- health and accounts list -----------------------------------------------------------------


async def get_health(
    session: AsyncSession, tenant_id: str, account_id: str
) -> HealthSnapshotRow | None:
    return await session.get(HealthSnapshotRow, (tenant_id, account_id))


async def evaluated_at(
    session: AsyncSession, tenant_id: str, account_ids: Collection[str]
) -> dict[str, datetime]:
    """When each of these accounts was last evaluated (accounts never evaluated are absent)."""
    if not account_ids:
        return {}
    rows = await session.execute(
        select(HealthSnapshotRow.account_id, HealthSnapshotRow.computed_at).where(
            HealthSnapshotRow.tenant_id == tenant_id,
            HealthSnapshotRow.account_id.in_(account_ids),
        )
    )
    return {account_id: at for account_id, at in rows}


async def stale_accounts(
    session: AsyncSession, evaluated_before: datetime, limit: int
) -> list[tuple[str, str]]:
    """(tenant, account) pairs last evaluated before a time, the longest-waiting first."""
    rows = await session.execute(
        select(HealthSnapshotRow.tenant_id, HealthSnapshotRow.account_id)
        .where(HealthSnapshotRow.computed_at < evaluated_before)
        .order_by(HealthSnapshotRow.computed_at)
        .limit(limit)
    )
    return [(tenant_id, account_id) for tenant_id, account_id in rows]


def add_health(session: AsyncSession, row: HealthSnapshotRow) -> None:
    session.add(row)


async def list_accounts(
    session: AsyncSession, tenant_id: str, *, limit: int, offset: int
) -> tuple[list[tuple[AccountRow, float | None, int]], int]:
    """A page of accounts with their health score and open signal count, and the total."""
    open_counts = (
        select(SignalRow.account_id, func.count().label("open_count"))
        .where(SignalRow.tenant_id == tenant_id, SignalRow.state == SignalState.OPEN.value)
        .group_by(SignalRow.account_id)
        .subquery()
    )
    query = (
        select(AccountRow, HealthSnapshotRow.score, open_counts.c.open_count)
        .outerjoin(
            HealthSnapshotRow,
            (HealthSnapshotRow.tenant_id == AccountRow.tenant_id)
            & (HealthSnapshotRow.account_id == AccountRow.account_id),
        )
        .outerjoin(open_counts, open_counts.c.account_id == AccountRow.account_id)
        .where(AccountRow.tenant_id == tenant_id)
        .order_by(AccountRow.account_id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(query)).all()
    total = await session.scalar(
        select(func.count()).select_from(AccountRow).where(AccountRow.tenant_id == tenant_id)
    )
    return [(row[0], row[1], int(row[2] or 0)) for row in rows], int(total or 0)


async def lock_accounts(
    session: AsyncSession, tenant_id: str, account_ids: Collection[str]
) -> None:
    """Serialise evaluations of these accounts (the consumer and plan PUTs) on PostgreSQL."""
    if dialect_of(session) != "postgresql" or not account_ids:
        return
    await session.execute(
        select(AccountRow.account_id)
        .where(AccountRow.tenant_id == tenant_id, AccountRow.account_id.in_(sorted(account_ids)))
        .order_by(AccountRow.account_id)
        .with_for_update()
    )


# --- outbox -------------------------------------------------------------------------------------


def add_outbox(session: AsyncSession, change: SignalChange) -> None:
    session.add(
        OutboxRow(
            change_id=change.id,
            tenant_id=change.tenant_id,
            account_id=change.account_id,
            payload=change.model_dump(mode="json"),
        )
    )


async def unsent(session: AsyncSession, limit: int) -> list[OutboxRow]:
    """The oldest unsent changes, locked so that another relay skips them."""
    return list(
        await session.scalars(
            select(OutboxRow)
            .where(OutboxRow.sent_at.is_(None))
            .order_by(OutboxRow.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


async def mark_sent(session: AsyncSession, seqs: Collection[int], now: datetime) -> None:
    await session.execute(update(OutboxRow).where(OutboxRow.seq.in_(seqs)).values(sent_at=now))


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
