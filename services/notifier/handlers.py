"""Use cases of the notifier's API and consumer (the delivery worker's are in ``attempts``).

Each function owns its transaction. Whatever creates pending deliveries sets ``wake`` after
committing, so the delivery worker picks them up at once instead of at its next poll.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier import leases, store
from services.notifier.filters import WebhookEventType, validate_filters
from services.notifier.recommendations import recommend
from services.notifier.records import (
    Attempt,
    Endpoint,
    Message,
    StoredRecommendation,
    recommendation_data,
)
from services.notifier.resolver import resolve_checked
from services.notifier.schedule import (
    RetrySchedule,
)
from services.notifier.settings import NotifierSettings
from services.notifier.signing import new_secret
from services.notifier.ssrf import IPNetwork, check_url
from services.notifier.store import DeliveryStatus
from services.notifier.tables import (
    EndpointRow,
    ProcessedMessageRow,
)
from services.notifier.value import ValueQuote, quote_value
from shared.clock import utc_now
from shared.digests import ValueDigest
from shared.erasure import ErasureRequest, ErasureScope, strings_in
from shared.erasure_runner import suppression
from shared.errors import Conflict, NotFound
from shared.idempotency import claim_events
from shared.kafka import HealingProducer
from shared.signals import SignalChange, SignalChangeType, SignalType

# Raised signals whose advice quotes the account's value.
VALUE_QUOTED = frozenset({SignalType.OBJECTIVE_ACHIEVED, SignalType.ADOPTION_DROP})


@dataclass(frozen=True, slots=True)
class Context:
    """What the use cases need, built once in ``create_app``'s lifespan; the delivery worker
    waits on ``wake``, which handlers set when they store something to send."""

    sessions: async_sessionmaker[AsyncSession]
    settings: NotifierSettings
    producer: HealingProducer
    dead_letter_topic: str
    schedule: RetrySchedule
    allowlist: tuple[IPNetwork, ...]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    rng: random.Random = field(default_factory=random.Random)


# --- signals -> recommendations and messages ---------------------------------------------------


async def handle_signal_changes(notifier: Context, changes: Sequence[SignalChange]) -> int:
    """Turn new signal changes into recommendations and outbox messages; how many were new.

    The change ids, recommendations, messages and deliveries commit in one transaction, so a
    redelivered change is skipped and a crash leaves nothing half-written.
    """
    now = utc_now()
    base_url = notifier.settings.ampm_base_url()
    async with notifier.sessions.begin() as session:
        fresh = await _first_time(session, await _unsuppressed(session, changes))
        endpoints = await store.enabled_endpoints(session, {c.tenant_id for c in fresh})
        values = await _value_quotes(session, fresh)
        for change in fresh:
            value = values.get(change.id)
            subscribed = endpoints.get(change.tenant_id, [])
            recommendation = recommend(change, ampm_base_url=base_url, value=value)
            if recommendation is not None:
                row = store.add_recommendation(session, recommendation, now)
                await store.enqueue(
                    session,
                    tenant_id=change.tenant_id,
                    account_id=change.account_id,
                    event_type=WebhookEventType.RECOMMENDATION_CREATED.value,
                    data=recommendation_data(row),
                    now=now,
                    endpoints=subscribed,
                )
            await store.enqueue(
                session,
                tenant_id=change.tenant_id,
                account_id=change.account_id,
                event_type=change.type.value,
                data=change.model_dump(mode="json"),
                now=now,
                endpoints=subscribed,
            )
    if fresh:
        notifier.wake.set()
    return len(fresh)


class _Handled(Protocol):
    """What the consumer deduplicates on: a message id and its tenant."""

    @property
    def id(self) -> str: ...

    @property
    def tenant_id(self) -> str: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


Handled = TypeVar("Handled", bound=_Handled)


async def _unsuppressed(session: AsyncSession, items: Sequence[Handled]) -> list[Handled]:
    """The items that neither belong to an erased tenant nor name an erased person (a change
    still in flight when the erasure came, which would store the person again)."""
    suppressed = await suppression(session, {item.tenant_id for item in items})
    if not suppressed:
        return list(items)
    return [
        item
        for item in items
        if not suppressed.drops_any(item.tenant_id, strings_in(item.model_dump(mode="json")))
    ]


async def _first_time(session: AsyncSession, items: Sequence[Handled]) -> list[Handled]:
    """The items whose id was never handled (each once, in order), now recorded as handled in
    the caller's transaction, so a redelivery or a republish is skipped."""
    claimed = await claim_events(
        session, ProcessedMessageRow, [(item.tenant_id, item.id) for item in items]
    )
    fresh: list[Handled] = []
    for item in items:
        key = (item.tenant_id, item.id)
        if key in claimed:
            claimed.discard(key)  # a second copy in the same batch is a redelivery too
            fresh.append(item)
    return fresh


async def _value_quotes(
    session: AsyncSession, changes: Sequence[SignalChange]
) -> dict[str, ValueQuote]:
    """The account's value to quote per change id, for the raised signals whose advice quotes
    one; each account's digests are read once per batch."""
    quoting = [
        change
        for change in changes
        if change.type is SignalChangeType.RAISED and change.signal_type in VALUE_QUOTED
    ]
    digests: dict[tuple[str, str], list[ValueDigest]] = {}
    quotes: dict[str, ValueQuote] = {}
    for change in quoting:
        account = (change.tenant_id, change.account_id)
        if account not in digests:
            digests[account] = await store.account_values(session, *account)
        assert change.signal_type is not None  # VALUE_QUOTED holds signal types only
        quote = quote_value(change.signal_type, change.evidence, digests[account])
        if quote is not None:
            quotes[change.id] = quote
    return quotes


# --- value digests -> messages -----------------------------------------------------------------


async def handle_value_digests(notifier: Context, digests: Sequence[ValueDigest]) -> int:
    """Keep each new digest for quoting and deliver it as a ``value.digest`` webhook; how
    many were new. A digest redelivered, or republished after a restart, has the same id and
    is skipped, so each (account, period) is sent once."""
    now = utc_now()
    async with notifier.sessions.begin() as session:
        fresh = await _first_time(session, await _unsuppressed(session, digests))
        endpoints = await store.enabled_endpoints(session, {d.tenant_id for d in fresh})
        for digest in fresh:
            await store.add_account_value(session, digest)
            await store.enqueue(
                session,
                tenant_id=digest.tenant_id,
                account_id=digest.account_id,
                event_type=WebhookEventType.VALUE_DIGEST.value,
                data=digest.model_dump(mode="json"),
                now=now,
                endpoints=endpoints.get(digest.tenant_id, []),
            )
    if fresh:
        notifier.wake.set()
    return len(fresh)


async def list_recommendations(
    notifier: Context,
    tenant_id: str,
    *,
    account_id: str | None,
    since: datetime | None,
    cursor: int | None,
    limit: int,
) -> list[StoredRecommendation]:
    """A page of the tenant's recommendations."""
    async with notifier.sessions() as session:
        rows = await store.list_recommendations(
            session, tenant_id, account_id=account_id, since=since, after_seq=cursor, limit=limit
        )
    return [StoredRecommendation.of(row) for row in rows]


async def get_recommendation(
    notifier: Context, tenant_id: str, recommendation_id: str
) -> StoredRecommendation:
    """One of the tenant's recommendations; 404 when it has none of that id."""
    async with notifier.sessions() as session:
        row = await store.get_recommendation(session, tenant_id, recommendation_id)
    if row is None:
        raise NotFound(f"no recommendation {recommendation_id!r}", field="recommendation_id")
    return StoredRecommendation.of(row)


# --- endpoints ---------------------------------------------------------------------------------


async def checked_url(url: str, allowlist: Sequence[IPNetwork]) -> str:
    """The URL if the SSRF guard accepts it now; raises ``DestinationRefused`` or
    ``HostNotResolved`` (422 naming ``url``)."""
    await resolve_checked(check_url(url), allowlist)
    return url.strip()


async def create_endpoint(
    notifier: Context, tenant_id: str, *, url: str, description: str, event_types: list[str]
) -> Endpoint:
    """Register an endpoint with a fresh secret (returned once, by the caller's response)."""
    url = await checked_url(url, notifier.allowlist)
    filters = list(validate_filters(event_types))  # InvalidEventFilter: 422 on event_types
    now = utc_now()
    row = EndpointRow(
        id=store.new_id("ep"),
        tenant_id=tenant_id,
        url=url,
        description=description,
        event_types=filters,
        enabled=True,
        secret=new_secret(),
        created_at=now,
        updated_at=now,
    )
    async with notifier.sessions.begin() as session:
        session.add(row)
    return Endpoint.of(row)


async def get_endpoint(notifier: Context, tenant_id: str, endpoint_id: str) -> Endpoint:
    """The tenant's endpoint; 404 otherwise."""
    async with notifier.sessions() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
    return Endpoint.of(row)


async def list_endpoints(notifier: Context, tenant_id: str) -> list[Endpoint]:
    """Every endpoint of the tenant."""
    async with notifier.sessions() as session:
        rows = await store.list_endpoints(session, tenant_id)
    return [Endpoint.of(row) for row in rows]


async def update_endpoint(
    notifier: Context, tenant_id: str, endpoint_id: str, changes: dict[str, Any]
) -> Endpoint:
    """Change url, description, event types or enabled; re-enabling clears the failure run."""
    if "url" in changes:
        changes["url"] = await checked_url(changes["url"], notifier.allowlist)
    if "event_types" in changes:
        changes["event_types"] = list(validate_filters(changes["event_types"]))
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        for name, value in changes.items():
            setattr(row, name, value)
        if changes.get("enabled"):
            row.failing_since = None
            row.disabled_reason = None
        row.updated_at = utc_now()
    return Endpoint.of(row)


async def delete_endpoint(notifier: Context, tenant_id: str, endpoint_id: str) -> None:
    """Delete an endpoint and its delivery log."""
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        await session.delete(row)


async def rotate_secret(notifier: Context, tenant_id: str, endpoint_id: str) -> Endpoint:
    """A new current secret; the old one keeps signing during the grace period."""
    grace = timedelta(seconds=notifier.settings.rotation_grace_seconds)
    now = utc_now()
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        rotated = leases.endpoint_secrets(row).rotate(new_secret(), now, grace)
        row.secret = rotated.current
        row.previous_secret = rotated.previous
        row.previous_secret_expires_at = rotated.previous_expires_at
        row.updated_at = now
    return Endpoint.of(row)


async def recover_endpoint(
    notifier: Context, tenant_id: str, endpoint_id: str, since: datetime
) -> int:
    """Replay every failed delivery to the endpoint of messages since ``since``."""
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        if not row.enabled:
            raise Conflict(
                "the endpoint is disabled: enable it (PATCH enabled=true) before recovering",
                field="enabled",
            )
        count = await store.reschedule(
            session, tenant_id, utc_now(), endpoint_id=endpoint_id, failed_since=since
        )
    notifier.wake.set()
    return count


def _found(row: EndpointRow | None, endpoint_id: str) -> EndpointRow:
    if row is None:
        raise NotFound(f"no endpoint {endpoint_id!r}", field="endpoint_id")
    return row


# --- the delivery log --------------------------------------------------------------------------


async def list_messages(
    notifier: Context,
    tenant_id: str,
    *,
    status: DeliveryStatus | None,
    cursor: int | None,
    limit: int,
) -> list[Message]:
    """A page of the tenant's messages with their deliveries."""
    async with notifier.sessions() as session:
        rows = await store.list_messages(
            session, tenant_id, status=status, after_seq=cursor, limit=limit
        )
    return [Message.of(message, deliveries) for message, deliveries in rows]


async def message_attempts(notifier: Context, tenant_id: str, message_id: str) -> list[Attempt]:
    """Every attempt of the tenant's message; 404 for an unknown message."""
    async with notifier.sessions() as session:
        if await store.get_message(session, tenant_id, message_id) is None:
            raise NotFound(f"no message {message_id!r}", field="message_id")
        rows = await store.attempts_of(session, message_id)
    return [Attempt.of(row) for row in rows]


async def replay_message(notifier: Context, tenant_id: str, message_id: str) -> int:
    """Send the message again to each of its endpoints with a fresh schedule."""
    async with notifier.sessions.begin() as session:
        if await store.get_message(session, tenant_id, message_id) is None:
            raise NotFound(f"no message {message_id!r}", field="message_id")
        count = await store.reschedule(session, tenant_id, utc_now(), message_id=message_id)
    notifier.wake.set()
    return count


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A tenant's every row; or the recommendations and messages naming the person."""
    if request.scope is ErasureScope.TENANT:
        await store.erase_tenant(session, request.tenant_id)
    elif request.person_id is not None:
        await store.erase_person(session, request.tenant_id, request.person_id)
