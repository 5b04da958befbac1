"""What can go wrong while reading and validating input, before anything is published.

    IngestError               field + reason + a stable code; the service maps each to HTTP once
    ├── UnreadableBody        the bytes are not gzip / UTF-8 JSON              (400)
    ├── BodyShapeInvalid      JSON, but not the shape the endpoint expects     (400)
    ├── TooLarge              a body, an item or a batch is over a limit       (413)
    ├── InvalidEvent          one event failed validation; ``errors`` lists why (422)
    │   └── BatchInvalid      a native batch had bad items; nothing is kept    (422)
    ├── MalformedCredentials  the Authorization header cannot be parsed        (401)
    └── UnknownWriteKey       no write key, or one that names no tenant        (401)

``api_error`` is the one place that maps them to the shared HTTP error tree.

Each ``errors`` entry is ``{"index": int | None, "field": str, "reason": str}``; ``index`` is the
item's position in the batch (None for a single event).
"""

from __future__ import annotations

from typing import Any, ClassVar

from shared.errors import (
    ApiError,
    BadRequest,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

ErrorDetail = dict[str, Any]


class IngestError(Exception):
    """Input the ingest service refuses; ``field`` says where, ``reason`` why, ``code`` what."""

    code: ClassVar[str] = "ingest_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnreadableBody(IngestError):
    """The request body (or Kafka value) is not valid gzip, UTF-8 or JSON."""

    code = "unreadable_body"


class NotJson(IngestError):
    """The request declares a content type that is not JSON (a form, XML, a file)."""

    code = "unsupported_media_type"


class BodyShapeInvalid(IngestError):
    """The JSON parsed but is not an event, a batch of events or a Segment message."""

    code = "invalid_body"


class TooLarge(IngestError):
    """A body, a single message or a batch's item count is over its limit."""

    code = "payload_too_large"

    def __init__(self, field: str, reason: str, *, limit: int) -> None:
        super().__init__(field, reason)
        self.limit = limit


class InvalidEvent(IngestError):
    """An event failed validation; ``errors`` holds every problem found, not just the first."""

    code = "invalid_event"

    def __init__(self, errors: list[ErrorDetail]) -> None:
        first = errors[0] if errors else {"field": "event", "reason": "invalid"}
        super().__init__(str(first["field"]), str(first["reason"]))
        self.errors = errors


class BatchInvalid(InvalidEvent):
    """A native batch had at least one bad item; the batch is atomic, so none is published."""

    code = "batch_invalid"


class MalformedCredentials(IngestError):
    """An Authorization header is present but is neither valid Basic nor Bearer."""

    code = "malformed_credentials"


class UnknownWriteKey(IngestError):
    """No write key was sent, or it is not a valid write key of any tenant."""

    code = "unauthorized"


_STATUS: tuple[tuple[type[IngestError], type[ApiError]], ...] = (
    (TooLarge, PayloadTooLarge),
    (NotJson, UnsupportedMediaType),
    (InvalidEvent, Unprocessable),
    (MalformedCredentials, Unauthorized),
    (UnknownWriteKey, Unauthorized),
    (IngestError, BadRequest),
)


def api_error(exc: IngestError) -> ApiError:
    """The HTTP error for an ingest error: same code, field and reason; every item for batches."""
    errors = exc.errors if isinstance(exc, InvalidEvent) else None
    message = f"{exc.field}: {exc.reason}"
    if isinstance(exc, InvalidEvent) and len(exc.errors) > 1:
        message = f"{len(exc.errors)} problems; the first is {message}"
    api_class = next(api for domain, api in _STATUS if isinstance(exc, domain))
    return api_class(message, field=exc.field, code=exc.code, errors=errors)
