"""Resolve the tenant of a request from ``Authorization: Bearer <key>``.

Services build one ``TenantResolver`` in ``create_app`` and put it on ``app.state``; routes ask
for ``WriteTenant``, ``SecretTenant`` or ``AdminAccess``.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import utc_now
from shared.errors import Unauthorized
from shared.tenancy.keys import KeyKind, Tenant, key_kind_of
from shared.tenancy.store import tenant_for_key


class TenantResolver:
    """Key -> tenant lookups with a small TTL cache, so hot keys skip the database.

    A revoked key keeps working for at most ``ttl_seconds`` on an instance that cached it
    (``forget`` drops it at once on the instance that revoked it). A lookup also stamps the
    key's ``last_used_at``, so that is as precise as the cache time.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        ttl_seconds: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._cache: OrderedDict[tuple[str, KeyKind], tuple[float, Tenant]] = OrderedDict()

    async def resolve(self, plaintext: str, kind: KeyKind) -> Tenant | None:
        """The tenant of an unrevoked key of ``kind``, or None."""
        if key_kind_of(plaintext) is not kind:
            return None
        now = self._clock()
        cached = self._cache.get((plaintext, kind))
        if cached and cached[0] > now:
            return cached[1]
        async with self._sessions.begin() as session:
            tenant = await tenant_for_key(session, plaintext, kind, now=utc_now())
        if tenant is not None:
            self._cache[(plaintext, kind)] = (now + self._ttl, tenant)
            self._cache.move_to_end((plaintext, kind))
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return tenant

    def forget(self, tenant_id: str) -> None:
        """Drop the cached keys of a tenant (one of its keys was revoked here)."""
        for cached_key in [k for k, (_, t) in self._cache.items() if t.id == tenant_id]:
            del self._cache[cached_key]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# Security schemes: they document which key each route takes (the OpenAPI document's
# Authorize button); the dependencies below read the header themselves and answer 401 in the
# shared error body when it is missing or wrong.
WRITE_KEY = HTTPBearer(
    scheme_name="writeKey",
    bearerFormat="ampm_wk_...",
    description="A tenant's write key (public by design: it can only send events).",
    auto_error=False,
)
SECRET_KEY = HTTPBearer(
    scheme_name="secretKey",
    bearerFormat="ampm_sk_...",
    description="A tenant's secret key: reads and manages the tenant's data. Keep it server-side.",
    auto_error=False,
)
ADMIN_TOKEN = HTTPBearer(
    scheme_name="adminToken",
    description="The operator's admin token (AMPM_ADMIN_TOKEN): manages tenants.",
    auto_error=False,
)


class _DocumentedBasic(HTTPBasic):
    """HTTP Basic as documentation only: the ingest routes read the write key themselves (Basic,
    Bearer or the body's writeKey) and answer a malformed header in the shared error body."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


SEGMENT_WRITE_KEY = _DocumentedBasic(
    scheme_name="segmentWriteKey",
    description="Segment SDKs: the write key as the Basic username with an empty password "
    "(or as writeKey in the body).",
    auto_error=False,
)
Credentials = HTTPAuthorizationCredentials | None


async def _tenant_for(request: Request, kind: KeyKind) -> Tenant:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized(
            f"send a {kind.value} key as 'Authorization: Bearer <key>'", field="authorization"
        )
    resolver: TenantResolver = request.app.state.tenant_resolver
    tenant = await resolver.resolve(token, kind)
    if tenant is None:
        raise Unauthorized(f"the {kind.value} key is not valid", field="authorization")
    return tenant


async def write_tenant(
    request: Request, _credentials: Annotated[Credentials, Security(WRITE_KEY)]
) -> Tenant:
    """The tenant of the request's write key (ingestion)."""
    return await _tenant_for(request, KeyKind.WRITE)


async def secret_tenant(
    request: Request, _credentials: Annotated[Credentials, Security(SECRET_KEY)]
) -> Tenant:
    """The tenant of the request's secret key (management APIs)."""
    return await _tenant_for(request, KeyKind.SECRET)


async def admin_access(
    request: Request, _credentials: Annotated[Credentials, Security(ADMIN_TOKEN)]
) -> None:
    """Pass only with the admin token from settings; tenant management is off without one."""
    expected: str | None = request.app.state.settings.admin_token
    token = bearer_token(request)
    if not expected or token is None or not secrets.compare_digest(token, expected):
        raise Unauthorized(
            "send the admin token as 'Authorization: Bearer <token>'", field="authorization"
        )


WriteTenant = Annotated[Tenant, Depends(write_tenant)]
SecretTenant = Annotated[Tenant, Depends(secret_tenant)]
AdminAccess = Annotated[None, Depends(admin_access)]
