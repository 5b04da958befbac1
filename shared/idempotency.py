"""Processed-event ids: how a consumer applies each event once, whatever Kafka delivers twice.

A consumer claims a batch's ids in the same transaction as the batch's effects. If the
transaction commits, the ids are stored, so a redelivery (the process died between the database
commit and the offset commit, or a client sent the same event id again) claims nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Base

EventKey = tuple[str, str]


async def claim_events(
    session: AsyncSession, row_type: type[Base], keys: Collection[EventKey]
) -> set[EventKey]:
    """Record (tenant_id, event_id) pairs as rows of ``row_type``; returns those not processed
    before. ``row_type`` is a service's processed-events table, keyed by (tenant_id, event_id).
    """
    wanted = set(keys)
    if not wanted:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return wanted - await _redelivered_postgresql(session, row_type, wanted)
    table = row_type.__table__
    statement = (
        sqlite.insert(row_type)
        .on_conflict_do_nothing()
        .returning(table.c.tenant_id, table.c.event_id)
    )
    result = await session.execute(
        statement, [{"tenant_id": tenant, "event_id": event} for tenant, event in wanted]
    )
    return {(tenant, event) for tenant, event in result}


async def _redelivered_postgresql(
    session: AsyncSession, row_type: type[Base], keys: Collection[EventKey]
) -> set[EventKey]:
    tenants, events = zip(*keys, strict=True)
    rows = await session.execute(
        _claim_statement(row_type), {"tenants": list(tenants), "events": list(events)}
    )
    return {(tenant, event) for tenant, event in rows}


@functools.cache
def _claim_statement(row_type: type[Base]) -> Any:
    """INSERT the pairs unnested from two arrays, returning the pairs that were already there.

    One statement whatever the batch size: the ids travel as two arrays (encoded by the driver,
    not bound one by one), and only redeliveries come back (nearly always none), where
    returning the inserted pairs would ship the whole batch back. Built once per table, since
    building it costs more than running it.
    """
    claim = select(
        func.unnest(
            bindparam("tenants", type_=postgresql.ARRAY(String)),
            bindparam("events", type_=postgresql.ARRAY(String)),
        )
        .table_valued("tenant_id", "event_id")
        .render_derived(name="pairs")
    ).cte("claim")
    table = row_type.__table__
    inserted = (
        postgresql.insert(row_type)
        .from_select(["tenant_id", "event_id"], select(claim.c.tenant_id, claim.c.event_id))
        .on_conflict_do_nothing()
        .returning(table.c.tenant_id, table.c.event_id)
        .cte("inserted")
    )
    return select(claim.c.tenant_id, claim.c.event_id).except_(
        select(inserted.c.tenant_id, inserted.c.event_id)
    )
