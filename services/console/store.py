"""SQLAlchemy queries of the console: sessions and share links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.console.tables import ConsoleSessionRow, ShareRow
from shared.db import delete_tenant_rows


def add_session(session: AsyncSession, row: ConsoleSessionRow) -> None:
    session.add(row)


async def live_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> ConsoleSessionRow | None:
    row = await session.get(ConsoleSessionRow, token_hash)
    return row if row is not None and row.expires_at > now else None


async def end_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == token_hash)
    )


async def forget_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))


def add_share(session: AsyncSession, row: ShareRow) -> None:
    session.add(row)


async def shares_of(session: AsyncSession, tenant_id: str, account_id: str) -> list[ShareRow]:
    """The account's share links, newest first, revoked and expired ones included."""
    rows = await session.scalars(
        select(ShareRow)
        .where(ShareRow.tenant_id == tenant_id, ShareRow.account_id == account_id)
        .order_by(ShareRow.created_at.desc())
    )
    return list(rows)


async def share_by_token(session: AsyncSession, token_hash: str) -> ShareRow | None:
    return await session.scalar(select(ShareRow).where(ShareRow.token_hash == token_hash))


async def share_of_tenant(session: AsyncSession, tenant_id: str, share_id: str) -> ShareRow | None:
    row = await session.get(ShareRow, share_id, with_for_update=True)
    return row if row is not None and row.tenant_id == tenant_id else None


async def erase_tenant(session: AsyncSession, tenant_id: str) -> None:
    await delete_tenant_rows(session, (ShareRow, ConsoleSessionRow), tenant_id)
