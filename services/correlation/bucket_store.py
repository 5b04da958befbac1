"""Queries of the metric buckets: a batch's deltas upserted in one statement, a series read
back, an account's totals. Every function takes the caller's session; the caller commits.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation.buckets import Bucket, PeriodUnit
from services.correlation.plans import (
    StakeholderRole,
)
from services.correlation.tables import (
    BucketRow,
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
