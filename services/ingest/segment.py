"""The Segment-compatible tracking API: map Segment messages to envelopes, Segment's way.

Like Segment, a request is always accepted: a bad message inside a batch is dropped (and
dead-lettered by the service with its reason) while the others go through. Limits: 32 KiB per
message (measured here, as compact JSON) and 500 KiB per request after decompression (the service
passes ``max_request_bytes`` to ``payloads.decode_body``).

Mapping (``source = segment``, envelope ``id`` = ``messageId`` or a fresh one):

- ``track`` -> usage event named ``event``; value = ``properties.value`` when it is a finite
  number, else 1; properties = ``properties``.
- ``identify`` -> lifecycle ``person.identified``; properties = ``traits`` (role such as
  sponsor / adoption_owner / supervisor, title, manager, status ...).
- ``group`` -> lifecycle ``account.identified``; account_id = ``groupId``, properties =
  ``traits`` (name, segment, plan, seats ...); the person links to that account.
- ``page`` / ``screen`` -> usage ``page_viewed`` / ``screen_viewed``; properties =
  ``properties`` plus the message's ``name`` and ``category``.
- ``alias`` -> lifecycle ``person.aliased``; person_id = ``userId``, properties.previous_id =
  ``previousId``.

person_id is ``userId``, else ``anonymousId``. account_id (except for ``group``) comes from
the context: ``context.groupId``, else ``context.traits.groupId`` (SDKs put the group in
either), else None: events without an account are still produced. Every envelope's properties
also get a reserved ``_segment`` object with ``type``, ``originalTimestamp``, ``sentAt``,
``receivedAt`` (ISO 8601, None when absent) and ``anonymousId``.

Clock skew, as Segment corrects it: the client's time is ``originalTimestamp`` (or ``timestamp``,
which server-side libraries send instead); with a ``sentAt`` (the message's, else the batch's)
``occurred_at = receivedAt - (sentAt - originalTimestamp)``; without one, the client's time as
is; with no client time, ``receivedAt``. Timestamps without a timezone are read as UTC, and
``occurred_at`` is stored in UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from services.ingest.errors import BodyShapeInvalid, InvalidEvent, TooLarge
from services.ingest.event_time import DEFAULT_WINDOW, EventTimeWindow
from services.ingest.payloads import encoded_size, nul_path
from shared.clock import timestamp
from shared.events import Envelope, EventId, EventKind, EventName, EventSource, new_event_id

SEGMENT_PROPERTY = "_segment"
DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024
DEFAULT_MAX_REQUEST_BYTES = 500 * 1024


class SegmentType(StrEnum):
    """The Segment call types; each has its own endpoint and may also appear in ``/v1/batch``."""

    TRACK = "track"
    IDENTIFY = "identify"
    GROUP = "group"
    PAGE = "page"
    SCREEN = "screen"
    ALIAS = "alias"


@dataclass(frozen=True, slots=True)
class SegmentLimits:
    """Segment's published limits, overridable from the service settings."""

    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    window: EventTimeWindow = DEFAULT_WINDOW


def _id_as_text(value: object) -> object:
    # SDKs send numeric ids as numbers and "no id" as "": both are common and harmless.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value == "":
        return None
    return value


def _utc_if_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


SegmentId = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=200)] | None,
    BeforeValidator(_id_as_text),
]
Timestamp = Annotated[datetime, AfterValidator(_utc_if_naive)]


class SegmentMessage(BaseModel):
    """One Segment message; explicit nulls are accepted everywhere and unknown fields kept."""

    model_config = ConfigDict(extra="allow", frozen=True, alias_generator=to_camel)

    type: SegmentType
    user_id: SegmentId = None
    anonymous_id: SegmentId = None
    group_id: SegmentId = None
    previous_id: SegmentId = None
    event: EventName | None = None
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    message_id: EventId | None = None
    timestamp: Timestamp | None = None
    original_timestamp: Timestamp | None = None
    sent_at: Timestamp | None = None
    write_key: str | None = None


class SegmentBatch(BaseModel):
    """The ``/v1/batch`` body; messages stay raw so each one is judged on its own."""

    model_config = ConfigDict(extra="allow", frozen=True, alias_generator=to_camel)

    batch: list[Any]
    sent_at: Timestamp | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    write_key: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedMessage:
    """A dropped message: its position, the message as received, and why (for the DLQ)."""

    index: int
    message: object
    field: str
    reason: str
    code: str


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """What a Segment request produced: envelopes to publish and messages to dead-letter."""

    accepted: tuple[Envelope, ...]
    rejected: tuple[RejectedMessage, ...]


def normalize_segment_batch(
    body: object, *, tenant_id: str, received_at: datetime, limits: SegmentLimits
) -> SegmentResult:
    """Map a parsed ``/v1/batch`` body; raises ``BodyShapeInvalid`` only if it is no batch."""
    try:
        batch = SegmentBatch.model_validate(body)
    except PydanticValidationError as exc:
        field, reason = _first_error(exc)
        raise BodyShapeInvalid(field, reason) from exc
    accepted: list[Envelope] = []
    rejected: list[RejectedMessage] = []
    for index, raw in enumerate(batch.batch):
        outcome = _normalize_message(raw, index, batch, tenant_id, received_at, limits)
        if isinstance(outcome, Envelope):
            accepted.append(outcome)
        else:
            rejected.append(outcome)
    return SegmentResult(tuple(accepted), tuple(rejected))


def normalize_segment_call(
    body: object,
    call_type: SegmentType,
    *,
    tenant_id: str,
    received_at: datetime,
    limits: SegmentLimits,
) -> SegmentResult:
    """Map the body of a single-message endpoint (``/v1/track`` ...); the path sets ``type``."""
    if not isinstance(body, dict):
        raise BodyShapeInvalid("body", "a Segment message is a JSON object")
    single = SegmentBatch(batch=[{**body, "type": call_type.value}])
    outcome = _normalize_message(single.batch[0], 0, single, tenant_id, received_at, limits)
    if isinstance(outcome, Envelope):
        return SegmentResult((outcome,), ())
    return SegmentResult((), (outcome,))


def body_write_key(body: object) -> str | None:
    """The ``writeKey`` a Segment body carries at its top level, if it is a string."""
    key = body.get("writeKey") if isinstance(body, dict) else None
    return key if isinstance(key, str) else None


def corrected_timestamp(
    *, received_at: datetime, sent_at: datetime | None, original_timestamp: datetime | None
) -> datetime:
    """When the event happened on the server's clock: ``receivedAt - (sentAt - original)``."""
    if original_timestamp is None:
        return received_at
    if sent_at is None:
        return original_timestamp
    return received_at - (sent_at - original_timestamp)


def _normalize_message(
    raw: object,
    index: int,
    batch: SegmentBatch,
    tenant_id: str,
    received_at: datetime,
    limits: SegmentLimits,
) -> Envelope | RejectedMessage:
    def reject(field: str, reason: str, code: str = InvalidEvent.default_code) -> RejectedMessage:
        return RejectedMessage(index, raw, field, reason, code)

    if not isinstance(raw, dict):
        return reject("message", "a Segment message is a JSON object")
    nul = nul_path(raw, "")
    if nul is not None:
        return reject(nul, "contains a NUL character")
    size = encoded_size(raw)
    if size > limits.max_message_bytes:
        reason = f"{size} bytes; at most {limits.max_message_bytes} per message"
        return reject("message", reason, TooLarge.default_code)
    try:
        message = SegmentMessage.model_validate(raw)
    except PydanticValidationError as exc:
        return reject(*_first_error(exc))
    missing = _missing_field(message)
    if missing is not None:
        return reject(*missing)
    try:
        envelope = _envelope(message, batch, tenant_id, received_at)
    except PydanticValidationError as exc:
        return reject(*_first_error(exc))
    too_far = limits.window.problem(envelope.occurred_at, received_at)
    if too_far is not None:
        # After skew correction: the field is the client's time the correction started from.
        return reject("originalTimestamp", f"corrected to {_iso(envelope.occurred_at)}: {too_far}")
    return envelope


def _missing_field(message: SegmentMessage) -> tuple[str, str] | None:
    if message.type is SegmentType.ALIAS:
        if message.user_id is None:
            return "userId", "required for alias"
        if message.previous_id is None:
            return "previousId", "required for alias"
    if message.user_id is None and message.anonymous_id is None:
        return "userId", "userId or anonymousId is required"
    if message.type is SegmentType.TRACK and message.event is None:
        return "event", "required for track"
    if message.type is SegmentType.GROUP and message.group_id is None:
        return "groupId", "required for group"
    return None


def _envelope(
    message: SegmentMessage, batch: SegmentBatch, tenant_id: str, received_at: datetime
) -> Envelope:
    # The batch's context and sentAt apply to every message that does not set its own.
    context = {**(batch.context or {}), **(message.context or {})}
    sent_at = message.sent_at or batch.sent_at
    original = message.original_timestamp or message.timestamp
    kind, name, properties = _mapped(message)
    properties[SEGMENT_PROPERTY] = {
        "type": message.type.value,
        "originalTimestamp": _iso(original),
        "sentAt": _iso(sent_at),
        "receivedAt": _iso(received_at),
        "anonymousId": message.anonymous_id,
    }
    is_group = message.type is SegmentType.GROUP
    return Envelope(
        id=message.message_id or new_event_id(),
        tenant_id=tenant_id,
        account_id=message.group_id if is_group else _account_in(context),
        person_id=message.user_id or message.anonymous_id,
        kind=kind,
        name=name,
        value=_numeric_value(message.properties) if message.type is SegmentType.TRACK else 1.0,
        properties=properties,
        occurred_at=corrected_timestamp(
            received_at=received_at, sent_at=sent_at, original_timestamp=original
        ).astimezone(UTC),
        received_at=received_at,
        source=EventSource.SEGMENT,
    )


def _mapped(message: SegmentMessage) -> tuple[EventKind, str, dict[str, Any]]:
    match message.type:
        case SegmentType.TRACK:
            return EventKind.USAGE, str(message.event), dict(message.properties or {})
        case SegmentType.IDENTIFY:
            return EventKind.LIFECYCLE, "person.identified", dict(message.traits or {})
        case SegmentType.GROUP:
            return EventKind.LIFECYCLE, "account.identified", dict(message.traits or {})
        case SegmentType.ALIAS:
            return EventKind.LIFECYCLE, "person.aliased", {"previous_id": message.previous_id}
        case SegmentType.PAGE | SegmentType.SCREEN:
            properties = dict(message.properties or {})
            if message.name is not None:
                properties["name"] = message.name
            if message.category is not None:
                properties["category"] = message.category
            return EventKind.USAGE, f"{message.type.value}_viewed", properties


def _account_in(context: dict[str, Any]) -> str | None:
    traits = context.get("traits")
    trait_group = traits.get("groupId") if isinstance(traits, dict) else None
    for candidate in (context.get("groupId"), trait_group):
        text = _id_as_text(candidate)
        if isinstance(text, str):
            return text
    return None


def _numeric_value(properties: dict[str, Any] | None) -> float:
    value = (properties or {}).get("value")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 1.0


def _iso(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment is not None else None


def _first_error(exc: PydanticValidationError) -> tuple[str, str]:
    error = exc.errors()[0]
    return ".".join(str(part) for part in error["loc"]) or "message", error["msg"]
