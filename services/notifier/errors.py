"""Domain errors of the notifier.

NotifierError                422 naming the field at fault, answered by the one shared handler
├── IncompleteSignalChange   a signal change lacks a field its type requires
├── InvalidSecret            a webhook secret is not ``whsec_`` + base64
├── InvalidEventFilter       an endpoint's event-type filter matches no event type
├── InvalidRetrySchedule     a retry schedule is empty, negative or has a bad jitter
├── HostNotResolved          the endpoint's host name has no address (DNS failed)
└── DestinationRefused       the endpoint URL or address is not allowed (SSRF guard)

``reason`` is the sentence without the field (what the delivery log records); the message a
client reads starts with the field.
"""

from __future__ import annotations

from typing import ClassVar

from shared.errors import Unprocessable


class NotifierError(Unprocessable):
    """Base of every notifier domain error."""

    field_at_fault: ClassVar[str | None] = None

    def __init__(self, reason: str) -> None:
        field = self.field_at_fault
        super().__init__(f"{field}: {reason}" if field else reason, field=field)
        self.reason = reason


class IncompleteSignalChange(NotifierError):
    """A signal change lacks a field its change type requires (e.g. ``signal_type``)."""

    field_at_fault = "signal_type"


class InvalidSecret(NotifierError):
    """A webhook secret is not ``whsec_`` followed by base64 of at least one byte."""

    field_at_fault = "secret"


class InvalidEventFilter(NotifierError):
    """An endpoint's event-type filter matches no event type the notifier sends."""

    field_at_fault = "event_types"

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"event filter {pattern!r} {reason}")
        self.pattern = pattern
        self.filter_reason = reason


class InvalidRetrySchedule(NotifierError):
    """A retry schedule is empty, has a negative delay, or a jitter outside [0, 1)."""

    field_at_fault = "retry_schedule"


class HostNotResolved(NotifierError):
    """The endpoint's host name resolved to no address; the attempt may be retried."""

    field_at_fault = "url"

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"host {host!r} could not be resolved: {reason}")
        self.host = host


class DestinationRefused(NotifierError):
    """The endpoint URL or one of its addresses is not allowed; ``reason`` says why."""

    field_at_fault = "url"
