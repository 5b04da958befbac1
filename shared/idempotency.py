"""Processed-event ids: how a consumer applies each event once, whatever Kafka delivers twice.

A consumer claims a batch's ids in the same transaction as the batch's effects. If the
transaction commits, the ids are stored, so a redelivery (the process died between the database
commit and the offset commit, or a client sent the same event id again) claims nothing.

Ids are remembered for a retention period, then forgotten in small transactions: it has to be
longer than the events topic keeps messages, so that even a replay of the whole topic finds
every id it already applied.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
import structlog
from sqlalchemy import String, Table, bindparam, delete, func, literal_column, select, tuple_
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import utc_now
from shared.db import Base, dialect_of, insert_for
from shared.kafka import TRANSIENT_ERRORS

log = structlog.get_logger(__name__)

FORGET_BATCH_SIZE = 10_000
FORGET_PAUSE_SECONDS = 300.0

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
    dialect = dialect_of(session)
    if dialect == "postgresql":
        return wanted - await _redelivered_postgresql(session, row_type, wanted)
    table = row_type.__table__
    statement = (
        insert_for(dialect, row_type)
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
    arrays = {"pairs": orjson.dumps(list(keys)).decode()}
    try:
        # Redeliveries are rare, and a plain INSERT costs PostgreSQL half of an INSERT ... ON
        # CONFLICT, so try that first; a savepoint keeps the transaction usable if one is there.
        async with session.begin_nested():
            await session.execute(_statements(row_type).insert, arrays)
        return set()
    except IntegrityError:
        # Another transaction's commit of one of these ids lands here too, after it is visible.
        rows = await session.execute(_statements(row_type).claim, arrays)
        return {(tenant, event) for tenant, event in rows}


@dataclass(frozen=True, slots=True)
class _ClaimStatements:
    insert: Any
    claim: Any


@functools.cache
def _statements(row_type: type[Base]) -> _ClaimStatements:
    """The statements claiming a batch's ids, built once per table (building them costs more
    than running them).

    One statement whatever the batch size: the ids travel as one JSON array of pairs, encoded
    by orjson in one call (two PostgreSQL arrays cost the driver a type check per element,
    which was most of the claim's Python time), never bound one by one. ``insert`` stores them all or fails on an id already there;
    ``claim`` stores the others and returns only the ids that were already there (nearly always
    none), where returning the inserted ones would ship the whole batch back.
    """
    pair = (
        func.jsonb_array_elements(sql_cast(bindparam("pairs", type_=String), postgresql.JSONB))
        .table_valued("value")
        .render_derived(name="pair")
    )
    pairs = select(
        pair.c.value.op("->>")(literal_column("0")).label("tenant_id"),
        pair.c.value.op("->>")(literal_column("1")).label("event_id"),
    )
    claim = pairs.cte("claim")
    table = row_type.__table__
    inserted = (
        postgresql.insert(row_type)
        .from_select(["tenant_id", "event_id"], select(claim.c.tenant_id, claim.c.event_id))
        .on_conflict_do_nothing()
        .returning(table.c.tenant_id, table.c.event_id)
        .cte("inserted")
    )
    return _ClaimStatements(
        # On the table, not the mapped class: this is a Core statement, not an ORM bulk insert.
        insert=postgresql.insert(cast(Table, table)).from_select(["tenant_id", "event_id"], pairs),
        claim=select(claim.c.tenant_id, claim.c.event_id).except_(
            select(inserted.c.tenant_id, inserted.c.event_id)
        ),
    )


async def forget_events(
    session: AsyncSession, row_type: type[Base], before: datetime, limit: int
) -> int:
    """Delete up to ``limit`` ids processed before ``before``; returns how many went."""
    table = row_type.__table__
    oldest = (
        select(table.c.tenant_id, table.c.event_id)
        .where(table.c.processed_at < before)
        .limit(limit)
    )
    result = await session.execute(
        delete(row_type).where(tuple_(table.c.tenant_id, table.c.event_id).in_(oldest))
    )
    return cast(CursorResult[Any], result).rowcount


async def keep_processed_events(
    sessions: async_sessionmaker[AsyncSession],
    row_type: type[Base],
    *,
    retention: timedelta,
    batch_size: int = FORGET_BATCH_SIZE,
    pause_seconds: float = FORGET_PAUSE_SECONDS,
) -> None:
    """Forget ids older than ``retention`` until cancelled.

    Small transactions keep each delete's locks and WAL short beside the consumer's inserts; a
    full batch is followed at once by the next one.
    """
    while True:
        try:
            async with sessions.begin() as session:
                forgotten = await forget_events(
                    session, row_type, utc_now() - retention, batch_size
                )
        except TRANSIENT_ERRORS as exc:
            log.warning("processed_events_retention_postponed", error=repr(exc)[:300])
            forgotten = 0
        if forgotten:
            log.info("processed_events_forgotten", table=row_type.__tablename__, ids=forgotten)
        if forgotten < batch_size:
            await asyncio.sleep(pause_seconds)
