"""Tenant management over HTTP, guarded by the admin token (served by the ingest service)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shared.auth import AdminAccess
from shared.errors import NotFound
from shared.events import NO_NUL
from shared.tenancy import KeyKind
from shared.tenant_store import add_key, create_tenant, get_tenant


class TenantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class TenantCreated(BaseModel):
    id: str
    name: str
    write_key: str = Field(description="Shown once; only its hash is stored.")
    secret_key: str = Field(description="Shown once; only its hash is stored.")


class KeyCreate(BaseModel):
    kind: KeyKind


class KeyCreated(BaseModel):
    tenant_id: str
    kind: KeyKind
    key: str = Field(description="Shown once; only its hash is stored.")


router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


@router.post("", status_code=201)
async def create(body: TenantCreate, request: Request, _admin: AdminAccess) -> TenantCreated:
    """Create a tenant with a write key and a secret key."""
    async with request.app.state.database.sessions.begin() as session:
        created = await create_tenant(session, body.name)
    return TenantCreated(
        id=created.tenant.id,
        name=created.tenant.name,
        write_key=created.write_key.plaintext,
        secret_key=created.secret_key.plaintext,
    )


@router.post("/{tenant_id}/keys", status_code=201)
async def issue(
    tenant_id: str, body: KeyCreate, request: Request, _admin: AdminAccess
) -> KeyCreated:
    """Issue one more key of a kind, e.g. to rotate a leaked one."""
    async with request.app.state.database.sessions.begin() as session:
        if await get_tenant(session, tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id}", field="tenant_id")
        key = await add_key(session, tenant_id, body.kind)
    return KeyCreated(tenant_id=tenant_id, kind=body.kind, key=key.plaintext)
