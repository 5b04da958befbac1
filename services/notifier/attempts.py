"""Delivery attempts: leasing due deliveries, and recording each attempt with what follows.

The delivery worker (``delivery``) leases a batch in a short transaction, sends outside any
transaction, then records the attempts that finished together: each attempt row, the
delivery's next state on the retry schedule (delivered, retried, dead-lettered), and, when an
endpoint is gone or has failed for too long, the endpoint disabled with its pending deliveries
dead-lettered and the other endpoints told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifier import leases, store
from services.notifier.filters import WebhookEventType
from services.notifier.handlers import Context
from services.notifier.leases import ClaimedDelivery
from services.notifier.schedule import (
    AttemptOutcome,
    DeadLetter,
    DeadLetterReason,
    Delivered,
    EndpointGone,
    disable_due,
    next_attempt,
    updated_failing_since,
)
from services.notifier.store import DeliveryStatus
from services.notifier.tables import (
    AttemptRow,
    DeliveryRow,
    EndpointRow,
)
from shared.clock import timestamp, utc_now
from shared.events import partition_key

log = structlog.get_logger(__name__)


class DisableReason(StrEnum):
    """Why an endpoint was disabled: ``disabled_reason`` and ``endpoint.disabled``'s reason."""

    ENDPOINT_GONE = "endpoint_gone"
    FAILING_CONTINUOUSLY = "failing_continuously"


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
        return await leases.claim_due(session, now, lease, batch)


async def record_attempts(
    notifier: Context, finished: Sequence[tuple[ClaimedDelivery, AttemptResult]]
) -> None:
    """Log each attempt and move each delivery (and maybe its endpoint) to its next state, all
    in one transaction: a batch costs one commit, not one per attempt."""
    now = utc_now()
    letters: list[DeadLetteredDelivery] = []
    disabled = False
    async with notifier.sessions.begin() as session:
        leases.add_attempts(
            session, [_attempt_row(claimed, result) for claimed, result in finished]
        )
        found = await leases.deliveries_for_update(
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
    locked = await leases.endpoint_for_update(session, endpoint.id)
    if locked is None or not locked.enabled:  # another recorder disabled it meanwhile
        return _Consequences(letters)
    stopped = await _disable(session, locked, reason, message, now)
    letters.extend(DeadLetteredDelivery.of_stopped(delivery) for delivery in stopped)
    return _Consequences(letters, disabled=True)


async def _disable(
    session: AsyncSession, endpoint: EndpointRow, reason: DisableReason, message: str, now: datetime
) -> list[leases.StoppedDelivery]:
    """Disable a failing endpoint: its pending deliveries stop, the other endpoints are told."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason.value
    endpoint.updated_at = now
    stopped = await leases.fail_pending_deliveries(
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
    def of_stopped(cls, stopped: leases.StoppedDelivery) -> DeadLetteredDelivery:
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
