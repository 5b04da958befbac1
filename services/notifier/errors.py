"""Domain errors of the notifier.

NotifierError
├── IncompleteSignalChange   a signal change lacks a field its type requires
├── InvalidSecret            a webhook secret is not ``whsec_`` + base64
├── InvalidEventFilter       an endpoint's event-type filter matches no event type
├── InvalidRetrySchedule     a retry schedule is empty, negative or has a bad jitter
├── HostNotResolved          the endpoint's host name has no address (DNS failed)
└── DestinationRefused       the endpoint URL or address is not allowed (SSRF guard)
"""

from __future__ import annotations


class NotifierError(Exception):
    """Base of every notifier domain error."""


class IncompleteSignalChange(NotifierError):
    """A signal change lacks a field its change type requires (e.g. ``signal_type``)."""


class InvalidSecret(NotifierError):
    """A webhook secret is not ``whsec_`` followed by base64 of at least one byte."""


class InvalidEventFilter(NotifierError):
    """An endpoint's event-type filter matches no event type the notifier sends."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"event filter {pattern!r} {reason}")
        self.pattern = pattern
        self.reason = reason


class InvalidRetrySchedule(NotifierError):
    """A retry schedule is empty, has a negative delay, or a jitter outside [0, 1)."""


class HostNotResolved(NotifierError):
    """The endpoint's host name resolved to no address; the attempt may be retried."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"host {host!r} could not be resolved: {reason}")
        self.host = host
        self.reason = reason


class DestinationRefused(NotifierError):
    """The endpoint URL or one of its addresses is not allowed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
