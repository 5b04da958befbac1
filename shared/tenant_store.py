"""Tenancy queries: create tenants, issue keys, resolve a presented key to its tenant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.tables import ApiKeyRow, TenantRow
from shared.tenancy import IssuedKey, KeyKind, Tenant, hash_key, issue_key, new_tenant_id


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


async def tenant_for_key(session: AsyncSession, plaintext: str, kind: KeyKind) -> Tenant | None:
    """The tenant owning an unrevoked key of this kind, or None."""
    row = (
        await session.execute(
            select(TenantRow.id, TenantRow.name)
            .join(ApiKeyRow, ApiKeyRow.tenant_id == TenantRow.id)
            .where(
                ApiKeyRow.key_hash == hash_key(plaintext),
                ApiKeyRow.kind == kind.value,
                ApiKeyRow.revoked_at.is_(None),
            )
        )
    ).first()
    return Tenant(id=row.id, name=row.name) if row else None


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
