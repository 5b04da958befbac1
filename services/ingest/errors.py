"""What can go wrong while reading and validating input, before anything is published.

    IngestError               field + reason + a stable code, and the shared HTTP error it is
    ├── UnreadableBody        the bytes are not gzip / UTF-8 JSON              (400)
    ├── BodyShapeInvalid      JSON, but not the shape the endpoint expects     (400)
    ├── TooLarge              a body, an item or a batch is over a limit       (413)
    ├── InvalidEvent          one event failed validation; ``errors`` lists why (422)
    │   └── BatchInvalid      a native batch had bad items; nothing is kept    (422)
    ├── MalformedCredentials  the Authorization header cannot be parsed        (401)
    └── UnknownWriteKey       no write key, or one that names no tenant        (401)

Each also subclasses the shared HTTP error of its status, so the one handler every app installs
answers it; nothing maps them by hand.

Each ``errors`` entry is ``{"index": int | None, "field": str, "reason": str}``; ``index`` is the
item's position in the batch (None for a single event).
"""

from __future__ import annotations

from typing import Any

from shared.errors import (
    ApiError,
    BadRequest,
    PayloadTooLarge,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)

ErrorDetail = dict[str, Any]


class IngestError(ApiError):
    """Input the ingest service refuses; ``field`` says where, ``reason`` why, ``code`` what."""

    default_code = "ingest_error"
    field: str

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason


class UnreadableBody(IngestError, BadRequest):
    """The request body (or Kafka value) is not valid gzip, UTF-8 or JSON."""

    default_code = "unreadable_body"


class NotJson(IngestError, UnsupportedMediaType):
    """The request declares a content type that is not JSON (a form, XML, a file)."""

    default_code = "unsupported_media_type"


class BodyShapeInvalid(IngestError, BadRequest):
    """The JSON parsed but is not an event, a batch of events or a Segment message."""

    default_code = "invalid_body"


class TooLarge(IngestError, PayloadTooLarge):
    """A body, a single message or a batch's item count is over its limit."""

    default_code = "payload_too_large"

    def __init__(self, field: str, reason: str, *, limit: int) -> None:
        super().__init__(field, reason)
        self.limit = limit


class InvalidEvent(IngestError, Unprocessable):
    """An event failed validation; ``errors`` holds every problem found, not just the first."""

    default_code = "invalid_event"
    errors: list[ErrorDetail]

    def __init__(self, errors: list[ErrorDetail]) -> None:
        first = errors[0] if errors else {"field": "event", "reason": "invalid"}
        super().__init__(str(first["field"]), str(first["reason"]))
        self.errors = errors
        if len(errors) > 1:
            self.message = f"{len(errors)} problems; the first is {self.message}"


class BatchInvalid(InvalidEvent):
    """A native batch had at least one bad item; the batch is atomic, so none is published."""

    default_code = "batch_invalid"


class MalformedCredentials(IngestError, Unauthorized):
    """An Authorization header is present but is neither valid Basic nor Bearer."""

    default_code = "malformed_credentials"


class UnknownWriteKey(IngestError, Unauthorized):
    """No write key was sent, or it is not a valid write key of any tenant."""

    default_code = "unauthorized"
