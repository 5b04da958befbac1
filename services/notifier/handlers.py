"""Use cases of the notifier, shared by the API, the consumer and the delivery worker.

Each function owns its transaction. Whatever creates pending deliveries sets ``wake`` after
committing, so the delivery worker picks them up at once instead of at its next poll.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier import store
from services.notifier.filters import WebhookEventType, validate_filters
from services.notifier.recommendations import recommend
from services.notifier.resolver import resolve_checked
from services.notifier.schedule import (
    AttemptOutcome,
    DeadLetter,
    DeadLetterReason,
    Delivered,
    EndpointGone,
    RetrySchedule,
    disable_due,
    next_attempt,
    updated_failing_since,
)
from services.notifier.settings import NotifierSettings
from services.notifier.signing import new_secret
from services.notifier.ssrf import IPNetwork, check_url
from services.notifier.store import ClaimedDelivery, DeliveryStatus
from services.notifier.tables import (
    AttemptRow,
    DeliveryRow,
    EndpointRow,
    MessageRow,
    ProcessedMessageRow,
    RecommendationRow,
)
from services.notifier.value import ValueQuote, quote_value
from shared.clock import timestamp, utc_now
from shared.digests import ValueDigest
from shared.erasure import ErasureRequest, ErasureScope, strings_in
from shared.erasure_runner import suppression
from shared.errors import Conflict, NotFound
from shared.events import partition_key
from shared.idempotency import claim_events
from shared.kafka import HealingProducer
from shared.signals import SignalChange, SignalChangeType, SignalType

log = structlog.get_logger(__name__)

# Raised signals whose advice quotes the account's value.
VALUE_QUOTED = frozenset({SignalType.OBJECTIVE_ACHIEVED, SignalType.ADOPTION_DROP})


class DisableReason(StrEnum):
    """Why an endpoint was disabled: ``disabled_reason`` and ``endpoint.disabled``'s reason."""

    ENDPOINT_GONE = "endpoint_gone"
    FAILING_CONTINUOUSLY = "failing_continuously"


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


def recommendation_data(row: RecommendationRow) -> dict[str, Any]:
    """A recommendation as API responses and webhooks carry it."""
    return {
        "id": row.id,
        "account_id": row.account_id,
        "category": row.category,
        "priority": row.priority,
        "title": row.title,
        "message": row.message,
        "actions": row.actions,
        "evidence": row.evidence,
        "links": row.links,
        "signal_change_id": row.signal_change_id,
        "signal_type": row.signal_type,
        "occurred_at": timestamp(row.occurred_at),
        "created_at": timestamp(row.created_at),
    }


async def list_recommendations(
    notifier: Context,
    tenant_id: str,
    *,
    account_id: str | None,
    since: datetime | None,
    cursor: int | None,
    limit: int,
) -> list[RecommendationRow]:
    """A page of the tenant's recommendations."""
    async with notifier.sessions() as session:
        return await store.list_recommendations(
            session, tenant_id, account_id=account_id, since=since, after_seq=cursor, limit=limit
        )


async def get_recommendation(
    notifier: Context, tenant_id: str, recommendation_id: str
) -> RecommendationRow:
    """One of the tenant's recommendations; 404 when it has none of that id."""
    async with notifier.sessions() as session:
        row = await store.get_recommendation(session, tenant_id, recommendation_id)
    if row is None:
        raise NotFound(f"no recommendation {recommendation_id!r}", field="recommendation_id")
    return row


# --- endpoints ---------------------------------------------------------------------------------


async def checked_url(url: str, allowlist: Sequence[IPNetwork]) -> str:
    """The URL if the SSRF guard accepts it now; raises ``DestinationRefused`` or
    ``HostNotResolved`` (422 naming ``url``)."""
    await resolve_checked(check_url(url), allowlist)
    return url.strip()


def checked_filters(event_types: Sequence[str]) -> list[str]:
    """Validated event-type filters; raises ``InvalidEventFilter`` (422 naming
    ``event_types``)."""
    return list(validate_filters(event_types))


async def create_endpoint(
    notifier: Context, tenant_id: str, *, url: str, description: str, event_types: list[str]
) -> EndpointRow:
    """Register an endpoint with a fresh secret (returned once, by the caller's response)."""
    url = await checked_url(url, notifier.allowlist)
    filters = checked_filters(event_types)
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
    return row


async def get_endpoint(notifier: Context, tenant_id: str, endpoint_id: str) -> EndpointRow:
    """The tenant's endpoint; 404 otherwise."""
    async with notifier.sessions() as session:
        return _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)


async def list_endpoints(notifier: Context, tenant_id: str) -> list[EndpointRow]:
    """Every endpoint of the tenant."""
    async with notifier.sessions() as session:
        return await store.list_endpoints(session, tenant_id)


async def update_endpoint(
    notifier: Context, tenant_id: str, endpoint_id: str, changes: dict[str, Any]
) -> EndpointRow:
    """Change url, description, event types or enabled; re-enabling clears the failure run."""
    if "url" in changes:
        changes["url"] = await checked_url(changes["url"], notifier.allowlist)
    if "event_types" in changes:
        changes["event_types"] = checked_filters(changes["event_types"])
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        for name, value in changes.items():
            setattr(row, name, value)
        if changes.get("enabled"):
            row.failing_since = None
            row.disabled_reason = None
        row.updated_at = utc_now()
    return row


async def delete_endpoint(notifier: Context, tenant_id: str, endpoint_id: str) -> None:
    """Delete an endpoint and its delivery log."""
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        await session.delete(row)


async def rotate_secret(notifier: Context, tenant_id: str, endpoint_id: str) -> EndpointRow:
    """A new current secret; the old one keeps signing during the grace period."""
    grace = timedelta(seconds=notifier.settings.rotation_grace_seconds)
    now = utc_now()
    async with notifier.sessions.begin() as session:
        row = _found(await store.get_endpoint(session, tenant_id, endpoint_id), endpoint_id)
        rotated = store.endpoint_secrets(row).rotate(new_secret(), now, grace)
        row.secret = rotated.current
        row.previous_secret = rotated.previous
        row.previous_secret_expires_at = rotated.previous_expires_at
        row.updated_at = now
    return row


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
) -> list[tuple[MessageRow, list[DeliveryRow]]]:
    """A page of the tenant's messages with their deliveries."""
    async with notifier.sessions() as session:
        return await store.list_messages(
            session, tenant_id, status=status, after_seq=cursor, limit=limit
        )


async def message_attempts(notifier: Context, tenant_id: str, message_id: str) -> list[AttemptRow]:
    """Every attempt of the tenant's message; 404 for an unknown message."""
    async with notifier.sessions() as session:
        if await store.get_message(session, tenant_id, message_id) is None:
            raise NotFound(f"no message {message_id!r}", field="message_id")
        return await store.attempts_of(session, message_id)


async def replay_message(notifier: Context, tenant_id: str, message_id: str) -> int:
    """Send the message again to each of its endpoints with a fresh schedule."""
    async with notifier.sessions.begin() as session:
        if await store.get_message(session, tenant_id, message_id) is None:
            raise NotFound(f"no message {message_id!r}", field="message_id")
        count = await store.reschedule(session, tenant_id, utc_now(), message_id=message_id)
    notifier.wake.set()
    return count


# --- delivery attempts -------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    """What one HTTP attempt produced, before it is classified."""

    outcome: AttemptOutcome
    attempted_at: datetime
    latency_ms: float
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None


async def claim_due(notifier: Context, limit: int | None = None) -> list[ClaimedDelivery]:
    """Lease up to ``limit`` (default: the batch size) due deliveries in a short transaction."""
    now = utc_now()
    lease = timedelta(seconds=notifier.settings.lease_seconds)
    batch = notifier.settings.worker_batch_size if limit is None else limit
    async with notifier.sessions.begin() as session:
        return await store.claim_due(session, now, lease, batch)


async def record_attempts(
    notifier: Context, finished: Sequence[tuple[ClaimedDelivery, AttemptResult]]
) -> None:
    """Log each attempt and move each delivery (and maybe its endpoint) to its next state, all
    in one transaction: a batch costs one commit, not one per attempt."""
    now = utc_now()
    letters: list[DeadLetteredDelivery] = []
    disabled = False
    async with notifier.sessions.begin() as session:
        store.add_attempts(session, [_attempt_row(claimed, result) for claimed, result in finished])
        found = await store.deliveries_for_update(
            session, [claimed.delivery_id for claimed, _ in finished]
        )
        # Successes first: an endpoint disabled by a failure further on must not dead-letter
        # a delivery that was in fact received.
        in_order = sorted(finished, key=lambda item: not isinstance(item[1].outcome, Delivered))
        for claimed, result in in_order:
            if claimed.delivery_id not in found:
                continue
            delivery, endpoint = found[claimed.delivery_id]
            if (
                delivery.status != DeliveryStatus.PENDING.value
                or delivery.attempts != claimed.attempt_number
            ):
                # Replayed or re-claimed meanwhile: the attempt is logged; its state is not ours.
                continue
            stopped = await _next_state(notifier, session, claimed, result, delivery, endpoint, now)
            letters.extend(stopped.letters)
            disabled = disabled or stopped.disabled
    for letter in letters:
        await publish_dead_letter(notifier, letter)
    if disabled:
        notifier.wake.set()


def _attempt_row(claimed: ClaimedDelivery, result: AttemptResult) -> AttemptRow:
    return AttemptRow(
        delivery_id=claimed.delivery_id,
        message_id=claimed.message_id,
        endpoint_id=claimed.endpoint_id,
        attempt_number=claimed.attempt_number,
        outcome=type(result.outcome).__name__,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        response_body=result.response_body,
        error=result.error,
        attempted_at=result.attempted_at,
    )


@dataclass(frozen=True, slots=True)
class _Consequences:
    letters: list[DeadLetteredDelivery]
    disabled: bool = False


async def _next_state(
    notifier: Context,
    session: AsyncSession,
    claimed: ClaimedDelivery,
    result: AttemptResult,
    delivery: DeliveryRow,
    endpoint: EndpointRow,
    now: datetime,
) -> _Consequences:
    """The delivery's state after its attempt; the endpoint's row is written only when its
    failing streak starts or ends, or when it is disabled."""
    delivery.updated_at = now
    failing_since = updated_failing_since(result.outcome, endpoint.failing_since, now)
    if failing_since != endpoint.failing_since:
        endpoint.failing_since = failing_since
    if isinstance(result.outcome, Delivered):
        delivery.status = DeliveryStatus.SUCCEEDED.value
        delivery.last_error = None
        return _Consequences([])
    delivery.last_error = (result.error or f"HTTP {result.status_code}")[:1000]
    decision = next_attempt(
        claimed.attempt_number, result.outcome, now, notifier.schedule, notifier.rng
    )
    letters: list[DeadLetteredDelivery] = []
    if isinstance(decision, DeadLetter):
        letters.append(DeadLetteredDelivery.of_attempt(claimed, decision, result))
        delivery.status = DeliveryStatus.FAILED.value
    else:
        delivery.next_attempt_at = decision
    after = timedelta(seconds=notifier.settings.disable_after_seconds)
    reason, message = None, None
    if isinstance(result.outcome, EndpointGone):
        reason, message = DisableReason.ENDPOINT_GONE, "the endpoint answered 410 Gone"
    elif disable_due(endpoint.failing_since, now, after) and endpoint.failing_since:
        reason = DisableReason.FAILING_CONTINUOUSLY
        message = f"the endpoint failed continuously since {timestamp(endpoint.failing_since)}"
    if reason is None or message is None or not endpoint.enabled:
        return _Consequences(letters)
    locked = await store.endpoint_for_update(session, endpoint.id)
    if locked is None or not locked.enabled:  # another recorder disabled it meanwhile
        return _Consequences(letters)
    stopped = await _disable(session, locked, reason, message, now)
    letters.extend(DeadLetteredDelivery.of_stopped(delivery) for delivery in stopped)
    return _Consequences(letters, disabled=True)


async def _disable(
    session: AsyncSession, endpoint: EndpointRow, reason: DisableReason, message: str, now: datetime
) -> list[store.StoppedDelivery]:
    """Disable a failing endpoint: its pending deliveries stop, the other endpoints are told."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason.value
    endpoint.updated_at = now
    stopped = await store.fail_pending_deliveries(
        session, endpoint.id, f"endpoint disabled: {message}", now
    )
    await store.enqueue(
        session,
        tenant_id=endpoint.tenant_id,
        account_id=None,
        event_type=WebhookEventType.ENDPOINT_DISABLED.value,
        data={
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "reason": reason.value,
            "message": message,
        },
        now=now,
        exclude_endpoint=endpoint.id,
    )
    log.warning(
        "endpoint_disabled", tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id, reason=reason
    )
    return stopped


@dataclass(frozen=True, slots=True)
class DeadLetteredDelivery:
    """A delivery that will not be attempted again, as the notifications DLQ topic shows it."""

    tenant_id: str
    account_id: str | None
    message_id: str
    event_type: str
    body: bytes
    endpoint_id: str
    reason: DeadLetterReason
    attempts: int
    last_status_code: int | None
    last_error: str | None

    @classmethod
    def of_attempt(
        cls, claimed: ClaimedDelivery, dead: DeadLetter, result: AttemptResult
    ) -> DeadLetteredDelivery:
        """The delivery whose attempt just ended its schedule (or met a 410)."""
        return cls(
            tenant_id=claimed.tenant_id,
            account_id=claimed.account_id,
            message_id=claimed.message_id,
            event_type=claimed.event_type,
            body=claimed.body,
            endpoint_id=claimed.endpoint_id,
            reason=dead.reason,
            attempts=dead.attempts,
            last_status_code=result.status_code,
            last_error=result.error,
        )

    @classmethod
    def of_stopped(cls, stopped: store.StoppedDelivery) -> DeadLetteredDelivery:
        """A pending delivery stopped because its endpoint was disabled."""
        return cls(
            tenant_id=stopped.tenant_id,
            account_id=stopped.account_id,
            message_id=stopped.message_id,
            event_type=stopped.event_type,
            body=stopped.body,
            endpoint_id=stopped.endpoint_id,
            reason=DeadLetterReason.ENDPOINT_DISABLED,
            attempts=stopped.attempts,
            last_status_code=None,
            last_error=stopped.last_error,
        )


async def publish_dead_letter(notifier: Context, letter: DeadLetteredDelivery) -> None:
    """Put a dead-lettered delivery on the notifications DLQ topic (after the commit).

    The failed state is already stored (``GET /v1/webhooks/messages?status=failed``); the
    topic record is for operators' tooling, so a broker outage is logged, not retried forever.
    """
    value = {
        "message_id": letter.message_id,
        "endpoint_id": letter.endpoint_id,
        "tenant_id": letter.tenant_id,
        "event_type": letter.event_type,
        "reason": letter.reason.value,
        "attempts": letter.attempts,
        "last_status_code": letter.last_status_code,
        "last_error": letter.last_error,
        "payload": orjson.loads(letter.body),
    }
    headers = [
        ("ampm-dlq-reason", letter.reason.value.encode()),
        ("ce_type", b"webhook.dead_lettered"),
        ("ce_id", letter.message_id.encode()),
    ]
    try:
        sent = await notifier.producer.send(
            notifier.dead_letter_topic,
            value=orjson.dumps(value),
            key=partition_key(letter.tenant_id, letter.account_id),
            headers=headers,
        )
        await sent
    except Exception as exc:  # the stored state is authoritative; see the docstring
        log.error("dead_letter_publish_failed", message_id=letter.message_id, error=repr(exc))
        # A producer left in a state it cannot leave (after a long outage) is replaced.
        await notifier.producer.failed(exc)
    else:
        notifier.producer.succeeded()
    log.warning(
        "delivery_dead_lettered",
        tenant_id=letter.tenant_id,
        message_id=letter.message_id,
        endpoint_id=letter.endpoint_id,
        reason=letter.reason.value,
    )


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A tenant's every row; or the recommendations and messages naming the person."""
    if request.scope is ErasureScope.TENANT:
        await store.erase_tenant(session, request.tenant_id)
    elif request.person_id is not None:
        await store.erase_person(session, request.tenant_id, request.person_id)
