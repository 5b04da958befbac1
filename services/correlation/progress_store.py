"""Queries of each account's progress in event time: its watermark, the last period judged,
the flag that asks for a re-judgement, and the accounts gone idle. Every function takes the
caller's session; the caller commits.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation.event_time import Progress, TenantStream
from services.correlation.plans import (
    StakeholderRole,
)
from services.correlation.tables import (
    AccountRow,
)
from shared.db import dialect_of, insert_for

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
    reaches ``tail_watermark`` (only the last period is missing), or since ``quiet_since`` while
    their tenant's stream settled (``TenantStream.settled``: no event for any of its accounts
    since ``quiet_since``, or some account's watermark reaching ``tail_watermark``)."""
    streams = _streams().subquery()
    left = (
        AccountRow.judged_through.is_(None)
        | (AccountRow.judged_through < clock)
        | AccountRow.rejudge.is_(True)
    )
    settled = (streams.c.touched_at < quiet_since) | (streams.c.watermark >= tail_watermark)
    idle = ((AccountRow.touched_at < tail_since) & (AccountRow.watermark >= tail_watermark)) | (
        (AccountRow.touched_at < quiet_since) & settled
    )
    rows = await session.execute(
        select(AccountRow.tenant_id, AccountRow.account_id)
        .join(streams, streams.c.tenant_id == AccountRow.tenant_id)
        .where(left, idle)
        .order_by(AccountRow.touched_at)
        .limit(limit)
    )
    return [(tenant_id, account_id) for tenant_id, account_id in rows]


async def tenant_streams(
    session: AsyncSession, tenant_ids: Collection[str]
) -> dict[str, TenantStream]:
    """Each tenant's stream as a whole: its latest watermark and latest touch over accounts."""
    if not tenant_ids:
        return {}
    rows = await session.execute(_streams().where(AccountRow.tenant_id.in_(tenant_ids)))
    return {row.tenant_id: TenantStream(row.watermark, row.touched_at) for row in rows}


def _streams() -> Any:
    return select(
        AccountRow.tenant_id,
        func.max(AccountRow.watermark).label("watermark"),
        func.max(AccountRow.touched_at).label("touched_at"),
    ).group_by(AccountRow.tenant_id)
