"""Queries of signals, health snapshots, the accounts list and the outbox: what judgements
write and the API reads. Every function takes the caller's session; the caller commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation.plans import StakeholderRole
from services.correlation.tables import (
    AccountRow,
    HealthSnapshotRow,
    OutboxRow,
    SignalRow,
)
from shared.db import dialect_of
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
