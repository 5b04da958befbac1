"""What can go wrong while reading and validating input, before anything is published.

    IngestError               field + reason + a stable code; the service maps each to HTTP once
    ├── UnreadableBody        the bytes are not gzip / UTF-8 JSON              (400)
    ├── BodyShapeInvalid      JSON, but not the shape the endpoint expects     (400)
    ├── TooLarge              a body, an item or a batch is over a limit       (413)
    ├── InvalidEvent          one event failed validation; ``errors`` lists why (422)
    │   └── BatchInvalid      a native batch had bad items; nothing is kept    (422)
    └── MalformedCredentials  the Authorization header cannot be parsed        (401)

Each ``errors`` entry is ``{"index": int | None, "field": str, "reason": str}``; ``index`` is the
item's position in the batch (None for a single event).
"""

from __future__ import annotations

from typing import Any, ClassVar

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
