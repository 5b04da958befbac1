"""``Idempotency-Key`` on management POSTs: a retried request gets the first answer.

A client that retries a POST after a timeout must not create a second webhook endpoint or
catalog entry. The same key with the same body within ``RETENTION`` answers what the first
request answered; the same key with another body (or route) is a 409 naming the header, as is
a key whose first request is still running. A request that failed leaves no trace, so it can
be retried under the same key. Keys are per tenant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import Header
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.errors import Conflict, Unprocessable
from shared.tables import IdempotentRequestRow

KEY_HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
MAX_KEY_LENGTH = 200
_RUNNING = 0

Answer = tuple[int, Any]
# The header as a route parameter: ``idempotency_key: IdempotencyKey = None``.
IdempotencyKey = Annotated[
    str | None,
    Header(alias=KEY_HEADER, description="Retry-safe: the same key and body answer the same."),
]


def request_hash(route: str, body: Any) -> str:
    """A digest of the route and the body, insensitive to key order."""
    canonical = orjson.dumps({"route": route, "body": body}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


async def answer_once(
    sessions: async_sessionmaker[AsyncSession],
    *,
    tenant_id: str,
    key: str | None,
    route: str,
    body: Any,
    now: datetime,
    run: Callable[[], Awaitable[Answer]],
) -> Answer:
    """``run()``'s answer, or the stored answer of the first request with this key."""
    if key is None:
        return await run()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(
            f"{KEY_HEADER}: 1 to {MAX_KEY_LENGTH} characters", field=KEY_HEADER, code="invalid"
        )
    digest = request_hash(route, body)
    stored = await _claim(sessions, tenant_id, key, route, digest, now)
    if stored is not None:
        return stored
    try:
        status_code, answer = await run()
    except BaseException:
        async with sessions.begin() as session:
            await session.execute(
                delete(IdempotentRequestRow).where(
                    IdempotentRequestRow.tenant_id == tenant_id, IdempotentRequestRow.key == key
                )
            )
        raise
    async with sessions.begin() as session:
        row = await session.get(IdempotentRequestRow, (tenant_id, key))
        if row is not None:
            row.status_code, row.body = status_code, answer
    return status_code, answer


async def _claim(
    sessions: async_sessionmaker[AsyncSession],
    tenant_id: str,
    key: str,
    route: str,
    digest: str,
    now: datetime,
) -> Answer | None:
    """None when this request may run (the key is now claimed), else the stored answer."""
    async with sessions.begin() as session:
        row = await session.get(IdempotentRequestRow, (tenant_id, key), with_for_update=True)
        if row is not None and row.created_at < now - RETENTION:
            await session.delete(row)  # forgotten after a day: the key is free again
            await session.flush()
            row = None
        if row is None:
            session.add(
                IdempotentRequestRow(
                    tenant_id=tenant_id,
                    key=key,
                    route=route,
                    request_hash=digest,
                    status_code=_RUNNING,
                    body=None,
                    created_at=now,
                )
            )
            try:
                await session.flush()
            except IntegrityError as exc:  # a concurrent request claimed it first
                raise Conflict(
                    f"{KEY_HEADER}: a request with this key is still running",
                    field=KEY_HEADER,
                ) from exc
            return None
        if row.request_hash != digest:
            raise Conflict(
                f"{KEY_HEADER}: already used for another request within {RETENTION}",
                field=KEY_HEADER,
            )
        if row.status_code == _RUNNING:
            raise Conflict(
                f"{KEY_HEADER}: a request with this key is still running", field=KEY_HEADER
            )
        return row.status_code, row.body
