"""Tenancy queries: create tenants, issue keys, resolve a presented key to its tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import delete_tenant_rows
from shared.tables import IdempotentRequestRow
from shared.tenancy.keys import IssuedKey, KeyKind, Tenant, hash_key, issue_key, new_tenant_id
from shared.tenancy.tables import ApiKeyRow, TenantRow


@dataclass(frozen=True, slots=True)
class CreatedTenant:
    tenant: Tenant
    write_key: IssuedKey
    secret_key: IssuedKey


async def create_tenant(session: AsyncSession, name: str) -> CreatedTenant:
    """Add a tenant with one write key and one secret key; the caller commits."""
    tenant = Tenant(id=new_tenant_id(), name=name)
    session.add(TenantRow(id=tenant.id, name=tenant.name))
    await session.flush()  # keys reference the tenant; there is no ORM relationship to order them
    write_key = await add_key(session, tenant.id, KeyKind.WRITE)
    secret_key = await add_key(session, tenant.id, KeyKind.SECRET)
    return CreatedTenant(tenant, write_key, secret_key)


async def add_key(session: AsyncSession, tenant_id: str, kind: KeyKind) -> IssuedKey:
    """Issue a new key for a tenant; only its hash is stored."""
    key = issue_key(kind)
    session.add(
        ApiKeyRow(
            tenant_id=tenant_id,
            kind=kind.value,
            key_hash=key.hash,
            display_prefix=key.display_prefix,
        )
    )
    await session.flush()
    return key


async def tenant_for_key(
    session: AsyncSession, plaintext: str, kind: KeyKind, *, now: datetime | None = None
) -> Tenant | None:
    """The tenant owning an unrevoked key of this kind, or None; with ``now``, the key's
    ``last_used_at`` is set to it (the caller commits)."""
    row = (
        await session.execute(
            select(TenantRow.id, TenantRow.name, ApiKeyRow.id.label("key_id"))
            .join(ApiKeyRow, ApiKeyRow.tenant_id == TenantRow.id)
            .where(
                ApiKeyRow.key_hash == hash_key(plaintext),
                ApiKeyRow.kind == kind.value,
                ApiKeyRow.revoked_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    if now is not None:
        await session.execute(
            update(ApiKeyRow).where(ApiKeyRow.id == row.key_id).values(last_used_at=now)
        )
    return Tenant(id=row.id, name=row.name)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """An API key as its owner may see it again: never the key itself."""

    id: int
    kind: KeyKind
    display_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


async def list_keys(session: AsyncSession, tenant_id: str) -> list[KeyInfo]:
    """The tenant's keys, revoked ones included, oldest first."""
    rows = await session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id).order_by(ApiKeyRow.id)
    )
    return [_info(row) for row in rows]


async def key_id_of(session: AsyncSession, key_hash: str) -> int | None:
    """The id of the key with this hash, or None."""
    key_id: int | None = await session.scalar(
        select(ApiKeyRow.id).where(ApiKeyRow.key_hash == key_hash)
    )
    return key_id


async def key_info(session: AsyncSession, tenant_id: str, key_id: int) -> KeyInfo | None:
    row = await session.get(ApiKeyRow, key_id)
    return _info(row) if row is not None and row.tenant_id == tenant_id else None


async def revoke_key(
    session: AsyncSession, tenant_id: str, key_id: int, now: datetime
) -> KeyInfo | None:
    """Revoke one of the tenant's keys (revoking twice keeps the first time); None when the
    tenant has no such key."""
    row = await session.get(ApiKeyRow, key_id, with_for_update=True)
    if row is None or row.tenant_id != tenant_id:
        return None
    row.revoked_at = row.revoked_at or now
    await session.flush()
    return _info(row)


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        kind=KeyKind(row.kind),
        display_prefix=row.display_prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    row = await session.get(TenantRow, tenant_id)
    return Tenant(id=row.id, name=row.name) if row else None


async def ensure_tenant(session: AsyncSession, tenant_id: str, name: str) -> CreatedTenant:
    """Find or create a tenant with a fixed id and issue it a fresh key pair (demo set-up)."""
    if await session.get(TenantRow, tenant_id) is None:
        session.add(TenantRow(id=tenant_id, name=name))
        await session.flush()
    write_key = await add_key(session, tenant_id, KeyKind.WRITE)
    secret_key = await add_key(session, tenant_id, KeyKind.SECRET)
    return CreatedTenant(Tenant(id=tenant_id, name=name), write_key, secret_key)


async def erase_tenant(session: AsyncSession, tenant_id: str) -> None:
    """The tenant, its keys and its idempotent requests (the erasure's ingest share)."""
    await delete_tenant_rows(session, (IdempotentRequestRow, ApiKeyRow), tenant_id)
    await session.execute(delete(TenantRow).where(TenantRow.id == tenant_id))
