"""Tenants and their API keys over HTTP (served by the ingest service).

The operator manages tenants and any tenant's keys with the admin token; a tenant manages its
own keys with its secret key, so a leaked key can be replaced and revoked without the operator.
A revoked key stops working at once on the instance that revoked it and within the key cache
time (``AMPM_KEY_CACHE_SECONDS``) on every other instance of every service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.clock import utc_now
from shared.errors import Conflict, NotFound
from shared.events import NO_NUL
from shared.idempotent_requests import Answer, IdempotencyKey, answer_once
from shared.openapi import errors
from shared.tenancy import store as tenant_store
from shared.tenancy.auth import AdminAccess, SecretTenant, TenantResolver, bearer_token
from shared.tenancy.keys import KeyKind, hash_key
from shared.tenancy.store import KeyInfo

# Idempotency keys of the admin's requests are kept apart from every tenant's.
ADMIN_SCOPE = "_admin"


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
    id: int
    tenant_id: str
    kind: KeyKind
    key: str = Field(description="Shown once; only its hash is stored.")


class KeyOut(BaseModel):
    id: int
    kind: KeyKind
    prefix: str = Field(description="The key's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When a service last looked the key up (as precise as the key cache time)."
    )
    revoked_at: datetime | None

    @classmethod
    def of(cls, info: KeyInfo) -> KeyOut:
        return cls(
            id=info.id,
            kind=info.kind,
            prefix=info.display_prefix,
            created_at=info.created_at,
            last_used_at=info.last_used_at,
            revoked_at=info.revoked_at,
        )


class TenantOut(BaseModel):
    id: str
    name: str


class KeyList(BaseModel):
    tenant: TenantOut
    keys: list[KeyOut]
    revocation_delay_seconds: float = Field(
        description="How long a revoked key may still be accepted by another instance."
    )


router = APIRouter(prefix="/v1", tags=["tenants"])
KeyId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _resolver(request: Request) -> TenantResolver:
    resolver: TenantResolver = request.app.state.tenant_resolver
    return resolver


async def _existing_tenant(request: Request, tenant_id: str) -> str:
    async with request.app.state.database.sessions() as session:
        if await tenant_store.get_tenant(session, tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
    return tenant_id


ExistingTenant = Annotated[str, Depends(_existing_tenant)]


@router.post("/tenants", status_code=201, response_model=TenantCreated, responses=errors(Conflict))
async def create_tenant(
    body: TenantCreate,
    request: Request,
    _admin: AdminAccess,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Create a tenant with a write key and a secret key. A retry with the same
    ``Idempotency-Key`` and body gets the same tenant, not a second."""

    async def create() -> Answer:
        async with request.app.state.database.sessions.begin() as session:
            created = await tenant_store.create_tenant(session, body.name)
        answer = TenantCreated(
            id=created.tenant.id,
            name=created.tenant.name,
            write_key=created.write_key.plaintext,
            secret_key=created.secret_key.plaintext,
        )
        return 201, answer.model_dump(mode="json")

    return await _once(request, ADMIN_SCOPE, idempotency_key, "POST /v1/tenants", body, create)


@router.get("/tenants/{tenant_id}/keys")
async def list_tenant_keys(
    tenant_id: ExistingTenant, request: Request, _admin: AdminAccess
) -> KeyList:
    """A tenant's keys: kind, prefix, when created, last used and revoked."""
    return await _list(request, tenant_id)


@router.post(
    "/tenants/{tenant_id}/keys",
    status_code=201,
    response_model=KeyCreated,
    responses=errors(Conflict),
)
async def issue_tenant_key(
    tenant_id: ExistingTenant,
    body: KeyCreate,
    request: Request,
    _admin: AdminAccess,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue one more key of a kind to a tenant, e.g. to replace a leaked one."""
    route = f"POST /v1/tenants/{tenant_id}/keys"
    return await _issue(request, tenant_id, body, idempotency_key, ADMIN_SCOPE, route)


@router.delete("/tenants/{tenant_id}/keys/{key_id}")
async def revoke_tenant_key(
    tenant_id: ExistingTenant, key_id: KeyId, request: Request, _admin: AdminAccess
) -> KeyOut:
    """Revoke a tenant's key."""
    return await _revoke(request, tenant_id, key_id)


@router.get("/keys")
async def list_keys(tenant: SecretTenant, request: Request) -> KeyList:
    """The calling tenant's keys: kind, prefix, when created, last used and revoked."""
    return await _list(request, tenant.id)


@router.post("/keys", status_code=201, response_model=KeyCreated, responses=errors(Conflict))
async def create_key(
    body: KeyCreate,
    tenant: SecretTenant,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue the calling tenant one more key of a kind: create the new key, switch to it, then
    revoke the old one."""
    return await _issue(request, tenant.id, body, idempotency_key, tenant.id, "POST /v1/keys")


@router.delete("/keys/{key_id}", responses=errors(Conflict))
async def revoke_key(key_id: KeyId, tenant: SecretTenant, request: Request) -> KeyOut:
    """Revoke one of the calling tenant's keys; not the one this request is made with (409):
    revoke it with another secret key, so a tenant never locks itself out."""
    async with request.app.state.database.sessions() as session:
        info = await tenant_store.key_info(session, tenant.id, key_id)
        current = await tenant_store.key_id_of(session, hash_key(bearer_token(request) or ""))
    if info is not None and info.id == current:
        raise Conflict(
            "this is the key of the request: revoke it with another secret key", field="key_id"
        )
    return await _revoke(request, tenant.id, key_id)


async def _list(request: Request, tenant_id: str) -> KeyList:
    async with request.app.state.database.sessions() as session:
        tenant = await tenant_store.get_tenant(session, tenant_id)
        keys = await tenant_store.list_keys(session, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
    return KeyList(
        tenant=TenantOut(id=tenant.id, name=tenant.name),
        keys=[KeyOut.of(info) for info in keys],
        revocation_delay_seconds=request.app.state.settings.key_cache_seconds,
    )


async def _issue(
    request: Request,
    tenant_id: str,
    body: KeyCreate,
    idempotency_key: str | None,
    scope: str,
    route: str,
) -> JSONResponse:
    async def issue() -> Answer:
        async with request.app.state.database.sessions.begin() as session:
            key = await tenant_store.add_key(session, tenant_id, body.kind)
            key_id = await tenant_store.key_id_of(session, key.hash)
        created = KeyCreated(id=key_id or 0, tenant_id=tenant_id, kind=body.kind, key=key.plaintext)
        return 201, created.model_dump(mode="json")

    return await _once(request, scope, idempotency_key, route, body, issue)


async def _revoke(request: Request, tenant_id: str, key_id: int) -> KeyOut:
    async with request.app.state.database.sessions.begin() as session:
        info = await tenant_store.revoke_key(session, tenant_id, key_id, utc_now())
    if info is None:
        raise NotFound(f"no key {key_id} of this tenant", field="key_id")
    _resolver(request).forget(tenant_id)
    return KeyOut.of(info)


async def _once(
    request: Request,
    scope: str,
    idempotency_key: str | None,
    route: str,
    body: BaseModel,
    run: Callable[[], Awaitable[Answer]],
) -> JSONResponse:
    status_code, answer = await answer_once(
        request.app.state.database.sessions,
        tenant_id=scope,
        key=idempotency_key,
        route=route,
        body=body.model_dump(mode="json"),
        now=utc_now(),
        run=run,
    )
    return JSONResponse(answer, status_code=status_code)
