"""Use cases of the console: sign in and out, the pages, share links, replays.

Every read goes through ``gateway`` with the key of the session (or of the share link); a key
that a service no longer accepts ends the session.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.console import store, views
from services.console.errors import PageNotFound, SignInRefused, SignInRequired
from services.console.gateway import Gateway, KeyRefused
from services.console.sealing import Sealer, new_token, token_hash
from services.console.settings import ConsoleSettings
from services.console.tables import ConsoleSessionRow, ShareRow
from shared.erasure import ErasureRequest, ErasureScope

T = TypeVar("T")
# Pages read several APIs per account; a few at a time keeps a large portfolio polite.
CONCURRENT_READS = 8


@dataclass(frozen=True)
class Console:
    """The console's dependencies, built once in ``create_app``."""

    settings: ConsoleSettings
    sessions: async_sessionmaker[AsyncSession]
    gateway: Gateway
    sealer: Sealer


@dataclass(frozen=True)
class Viewer:
    """Whose key a page is read with: a signed-in CSM, or a share link's visitor."""

    tenant_id: str
    tenant_name: str
    key: str
    session_hash: str | None = None
    share_account: str | None = None
    """The one account a share link shows (None for a signed-in CSM)."""


async def sign_in(console: Console, key: str, now: datetime) -> str:
    """Open a session for a valid secret key; returns the session token (the cookie)."""
    key = key.strip()
    if not key.startswith("ampm_sk_"):
        raise SignInRefused("sign in with the tenant's secret key (ampm_sk_...)", field="key")
    try:
        keys = await console.gateway.get("ingest", "/v1/keys", key)
    except KeyRefused as exc:
        raise SignInRefused("this secret key is not valid", field="key") from exc
    if keys is None:
        raise SignInRefused("this secret key is not valid", field="key")
    token = new_token()
    async with console.sessions.begin() as session:
        await store.forget_expired(session, now)
        store.add_session(
            session,
            ConsoleSessionRow(
                token_hash=token_hash(token),
                tenant_id=keys["tenant"]["id"],
                tenant_name=keys["tenant"]["name"],
                sealed_key=console.sealer.seal(key),
                created_at=now,
                expires_at=now + timedelta(hours=console.settings.session_hours),
            ),
        )
    return token


async def viewer_of_session(console: Console, token: str | None, now: datetime) -> Viewer:
    """The signed-in CSM of a session cookie; raises ``SignInRequired``."""
    if not token:
        raise SignInRequired("sign in to see the console")
    hashed = token_hash(token)
    async with console.sessions() as session:
        row = await store.live_session(session, hashed, now)
    key = console.sealer.open(row.sealed_key) if row is not None else None
    if row is None or key is None:
        raise SignInRequired("your session ended; sign in again")
    return Viewer(row.tenant_id, row.tenant_name, key, session_hash=hashed)


async def sign_out(console: Console, viewer: Viewer) -> None:
    if viewer.session_hash is not None:
        async with console.sessions.begin() as session:
            await store.end_session(session, viewer.session_hash)


async def read(console: Console, viewer: Viewer, work: Awaitable[T]) -> T:
    """Run page reads; a key the services stopped accepting ends the session."""
    try:
        return await work
    except KeyRefused as exc:
        await sign_out(console, viewer)
        raise SignInRequired("the tenant's key is no longer valid; sign in again") from exc


async def portfolio(console: Console, viewer: Viewer) -> list[views.PortfolioRow]:
    """Every account of the tenant as a portfolio row."""
    gateway, key = console.gateway, viewer.key
    listed = await gateway.get("correlation", "/v1/accounts", key, params={"limit": 500})
    limit = asyncio.Semaphore(CONCURRENT_READS)

    async def row(account: dict[str, Any]) -> views.PortfolioRow:
        path = f"/v1/accounts/{account['account_id']}"
        async with limit:
            detail, health, history = await asyncio.gather(
                gateway.get("correlation", path, key),
                gateway.get("correlation", f"{path}/health", key),
                gateway.get("correlation", f"{path}/health/history", key, {"periods": 8}),
            )
        return views.portfolio_row(account, detail or {}, health, history)

    return list(await asyncio.gather(*(row(a) for a in (listed or {}).get("accounts", []))))


async def account_page(
    console: Console, viewer: Viewer, account_id: str, today: date
) -> views.AccountPage:
    """The account's GPS page; 404 when the tenant has no such account."""
    if viewer.share_account is not None and viewer.share_account != account_id:
        raise PageNotFound("this link shows one account only")
    gateway, key = console.gateway, viewer.key
    path = f"/v1/accounts/{account_id}"
    detail = await gateway.get("correlation", path, key)
    if detail is None:
        raise PageNotFound(f"no account {account_id!r}", field="account_id")
    since = views.value_since(today).isoformat()
    ampm, health, people, signals, value, recommendations = await asyncio.gather(
        gateway.get("correlation", f"{path}/ampm", key),
        gateway.get("correlation", f"{path}/health", key),
        gateway.get("correlation", f"{path}/people", key),
        gateway.get("correlation", f"{path}/signals", key),
        gateway.get("equivalents", f"{path}/value", key, {"from": since}),
        gateway.get("notifier", "/v1/recommendations", key, {"account_id": account_id, "limit": 500}),
    )  # fmt: skip
    return views.account_page(
        detail,
        ampm=ampm,
        health=health,
        people=(people or {}).get("people", []),
        signals=(signals or {}).get("signals", []),
        value=value,
        recommendations=(recommendations or {}).get("data", []),
    )


async def shares(console: Console, viewer: Viewer, account_id: str) -> list[ShareRow]:
    async with console.sessions() as session:
        return await store.shares_of(session, viewer.tenant_id, account_id)


async def create_share(
    console: Console, viewer: Viewer, account_id: str, days: int, now: datetime
) -> str:
    """A read-only link to the account's page for ``days``; returns its token (shown once)."""
    await account_page(console, viewer, account_id, now.date())  # the account must exist
    token = new_token()
    lifetime = max(1, min(days, console.settings.share_max_days))
    async with console.sessions.begin() as session:
        store.add_share(
            session,
            ShareRow(
                id=f"shr_{uuid.uuid4().hex[:16]}",
                token_hash=token_hash(token),
                tenant_id=viewer.tenant_id,
                account_id=account_id,
                sealed_key=console.sealer.seal(viewer.key),
                created_at=now,
                expires_at=now + timedelta(days=lifetime),
            ),
        )
    return token


async def revoke_share(console: Console, viewer: Viewer, share_id: str, now: datetime) -> str:
    """Revoke one of the tenant's share links; returns the account it showed."""
    async with console.sessions.begin() as session:
        row = await store.share_of_tenant(session, viewer.tenant_id, share_id)
        if row is None:
            raise PageNotFound(f"no share link {share_id!r}", field="share_id")
        row.revoked_at = row.revoked_at or now
        return row.account_id


async def viewer_of_share(console: Console, token: str, now: datetime) -> Viewer:
    """The visitor of a share link; 404 for a link that is unknown, expired or revoked."""
    async with console.sessions() as session:
        row = await store.share_by_token(session, token_hash(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise PageNotFound("this link has expired or was revoked")
    key = console.sealer.open(row.sealed_key)
    if key is None:
        raise PageNotFound("this link no longer opens")
    return Viewer(row.tenant_id, "", key, share_account=row.account_id)


async def deliveries(console: Console, viewer: Viewer) -> tuple[list[Any], list[Any]]:
    """The tenant's webhook endpoints and its latest messages with their deliveries."""
    gateway, key = console.gateway, viewer.key
    endpoints, messages = await asyncio.gather(
        gateway.get("notifier", "/v1/webhooks/endpoints", key),
        gateway.get("notifier", "/v1/webhooks/messages", key, {"limit": 100}),
    )
    return list(endpoints or []), list((messages or {}).get("data", []))


async def attempts(console: Console, viewer: Viewer, message_id: str) -> list[Any]:
    found = await console.gateway.get(
        "notifier", f"/v1/webhooks/messages/{message_id}/attempts", viewer.key
    )
    if found is None:
        raise PageNotFound(f"no message {message_id!r}", field="message_id")
    return list(found)


async def replay(console: Console, viewer: Viewer, message_id: str) -> int:
    answer = await console.gateway.post(
        "notifier", f"/v1/webhooks/messages/{message_id}/replay", viewer.key
    )
    return int(answer["rescheduled"])


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A deleted tenant's sessions and share links go; a person's erasure has nothing here (the
    pages read the services, which erase them)."""
    if request.scope is ErasureScope.TENANT:
        await store.erase_tenant(session, request.tenant_id)
