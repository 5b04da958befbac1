"""The native event API: validate one event or ``{"events": [...]}`` and build envelopes.

Which events need an ``account_id``:

- ``usage``: optional (product events often arrive before the account is known).
- ``activity`` and ``performance``: required; they are measured per account.
- ``lifecycle``: names starting with ``person.`` or ``stakeholder.`` are person-level
  (``person.identified``, ``person.aliased``, ``stakeholder.departed``) and need an
  ``account_id`` or a ``person_id`` (correlation finds the account through the person);
  every other lifecycle name (``org.reorganized``, ``blocker.reported``,
  ``adoption_owner.assigned`` ...) is account-level and needs ``account_id``.

A batch is atomic: every item is checked, every problem is reported as
``{index, field, reason}``, and if there is one, no envelope is returned. The same per-item
validation serves the raw Kafka topic (``normalize_kafka_value``). Unknown item fields are
refused so a typo (``acount_id``) is caught rather than dropped. An explicit ``null`` means
"use the default" for ``value``, ``properties`` and ``occurred_at``; ``occurred_at`` must carry
a timezone and is stored in UTC.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AllowInfNan, AwareDatetime, BaseModel, ConfigDict, Field, Strict
from pydantic import ValidationError as PydanticValidationError

from services.ingest.errors import (
    BatchInvalid,
    BodyShapeInvalid,
    ErrorDetail,
    InvalidEvent,
    TooLarge,
    UnreadableBody,
)
from services.ingest.event_time import DEFAULT_WINDOW, EventTimeWindow
from services.ingest.payloads import nul_path, parse_json
from shared.events import (
    NO_NUL,
    Envelope,
    EventId,
    EventKind,
    EventName,
    EventSource,
    ExternalId,
    new_event_id,
)

PERSON_LEVEL_PREFIXES = ("person.", "stakeholder.")
DEFAULT_MAX_EVENTS = 1_000
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Strict: a JSON string "240" or a boolean is a client bug, not a number to coerce.
FiniteNumber = Annotated[float, Strict(), AllowInfNan(False)]


@dataclass(frozen=True, slots=True)
class NativeLimits:
    """Per-request limits of the native API (the service fills them from its settings)."""

    max_events: int = DEFAULT_MAX_EVENTS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    window: EventTimeWindow = DEFAULT_WINDOW


class NativeEvent(BaseModel):
    """One item of ``POST /v1/events`` (or one raw-topic Kafka value) as the client sends it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: EventId | None = None
    kind: EventKind
    name: EventName
    account_id: ExternalId | None = None
    person_id: ExternalId | None = None
    value: FiniteNumber | None = None
    unit: str | None = Field(default=None, max_length=50, pattern=NO_NUL)
    occurred_at: AwareDatetime | None = None
    properties: dict[str, Any] | None = None


class NativeBatch(BaseModel):
    """The batch form of ``POST /v1/events``, for the OpenAPI schema.

    ``normalize_native`` validates item by item instead, so it can report every bad item.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[NativeEvent]


def normalize_native(
    body: object, tenant_id: str, now: datetime, limits: NativeLimits
) -> list[Envelope]:
    """Envelopes for a parsed ``POST /v1/events`` body, all or nothing.

    Raises ``BodyShapeInvalid`` for a body that is neither an event nor a batch, ``TooLarge``
    past ``limits.max_events``, ``InvalidEvent`` for a bad single event and ``BatchInvalid``
    (listing every bad item) for a batch with any bad item.
    """
    if not isinstance(body, dict):
        raise BodyShapeInvalid("body", 'send one event object or {"events": [...]}')
    if "events" not in body:
        return [normalize_native_item(body, tenant_id=tenant_id, now=now, window=limits.window)]
    items = _batch_items(body, limits)
    envelopes: list[Envelope] = []
    errors: list[ErrorDetail] = []
    for index, (item, fresh_id) in enumerate(zip(items, fresh_event_ids(len(items)), strict=True)):
        try:
            envelopes.append(
                normalize_native_item(
                    item, tenant_id=tenant_id, now=now, default_id=fresh_id, window=limits.window
                )
            )
        except InvalidEvent as exc:
            errors.extend({**error, "index": index} for error in exc.errors)
    if errors:
        raise BatchInvalid(errors)
    return envelopes


def normalize_native_item(
    item: object,
    *,
    tenant_id: str,
    now: datetime,
    source: EventSource = EventSource.REST,
    default_id: str | None = None,
    window: EventTimeWindow = DEFAULT_WINDOW,
) -> Envelope:
    """The envelope for one native event; raises ``InvalidEvent`` listing every problem.

    An event without ``id`` gets ``default_id`` (a caller that may see the same input twice
    passes a stable one) or a fresh id.
    """
    nul = nul_path(item, "")
    if nul is not None:
        raise InvalidEvent([{"index": None, "field": nul, "reason": "contains a NUL character"}])
    try:
        event = NativeEvent.model_validate(item)
    except PydanticValidationError as exc:
        raise InvalidEvent(_details(exc)) from exc
    missing = _missing_account_reason(event)
    if missing is not None:
        raise InvalidEvent([{"index": None, "field": "account_id", "reason": missing}])
    if event.occurred_at is not None:
        too_far = window.problem(event.occurred_at, now)
        if too_far is not None:
            raise InvalidEvent([{"index": None, "field": "occurred_at", "reason": too_far}])
    return Envelope(
        id=event.id or default_id or new_event_id(),
        tenant_id=tenant_id,
        account_id=event.account_id,
        person_id=event.person_id,
        kind=event.kind,
        name=event.name,
        value=1.0 if event.value is None else event.value,
        unit=event.unit,
        properties=event.properties or {},
        occurred_at=(event.occurred_at or now).astimezone(UTC),
        received_at=now,
        source=source,
    )


def fresh_event_ids(count: int) -> list[str]:
    """``count`` random UUID4 strings from one read of the OS random source.

    Same format and randomness as ``uuid.uuid4()``, which reads the source once per id: on a
    batch of 1,000 that was the largest cost of validation.
    """
    data = bytearray(os.urandom(16 * count))
    ids: list[str] = []
    for start in range(0, 16 * count, 16):
        data[start + 6] = (data[start + 6] & 0x0F) | 0x40  # version 4
        data[start + 8] = (data[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = data[start : start + 16].hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


def normalize_kafka_value(
    value: bytes | None,
    *,
    tenant_id: str,
    now: datetime,
    max_bytes: int,
    default_id: str | None = None,
    window: EventTimeWindow = DEFAULT_WINDOW,
) -> Envelope:
    """The envelope for one raw-topic record value: a single native event as JSON.

    Raises ``UnreadableBody``, ``TooLarge`` or ``InvalidEvent``; the consumer dead-letters the
    record with the error's code and reason.
    """
    if value is None:
        raise UnreadableBody("value", "the record has no value")
    if len(value) > max_bytes:
        raise TooLarge("value", f"over {max_bytes} bytes", limit=max_bytes)
    item = parse_json(value, field="value")
    return normalize_native_item(
        item,
        tenant_id=tenant_id,
        now=now,
        source=EventSource.KAFKA,
        default_id=default_id,
        window=window,
    )


def _batch_items(body: dict[str, Any], limits: NativeLimits) -> list[object]:
    if len(body) > 1:
        extra = sorted(key for key in body if key != "events")
        raise BodyShapeInvalid(extra[0], "a batch body carries only 'events'")
    items = body["events"]
    if not isinstance(items, list):
        raise BodyShapeInvalid("events", "must be a list of events")
    if not items:
        raise BodyShapeInvalid("events", "must contain at least one event")
    if len(items) > limits.max_events:
        raise TooLarge(
            "events",
            f"{len(items)} events; at most {limits.max_events} per request",
            limit=limits.max_events,
        )
    return items


def _missing_account_reason(event: NativeEvent) -> str | None:
    if event.account_id is not None:
        return None
    if event.kind in (EventKind.ACTIVITY, EventKind.PERFORMANCE):
        return f"required for {event.kind.value} events"
    if event.kind is not EventKind.LIFECYCLE:
        return None
    if not event.name.startswith(PERSON_LEVEL_PREFIXES):
        return f"required for the account-level lifecycle event {event.name!r}"
    if event.person_id is None:
        return "a person-level lifecycle event needs account_id or person_id"
    return None


def _details(exc: PydanticValidationError) -> list[ErrorDetail]:
    return [
        {
            "index": None,
            "field": ".".join(str(part) for part in error["loc"]) or "event",
            "reason": error["msg"],
        }
        for error in exc.errors()
    ]
