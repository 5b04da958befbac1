"""When to try a webhook delivery again, and when to stop.

Each HTTP attempt ends in one ``AttemptOutcome``: ``Delivered`` (2xx only), ``RetryableFailure``
(any other status, a timeout or a connection error: like Svix, 3xx and 4xx are retried too) or
``EndpointGone`` (410: the receiver says the endpoint no longer exists). ``next_attempt`` turns a
failure into the time of the next attempt, from a schedule of delays with jitter, or into a
``DeadLetter`` once the last attempt has failed or the endpoint is gone. An endpoint failing
without a single success for ``DEFAULT_DISABLE_AFTER`` is disabled (``updated_failing_since``
keeps the start of the failure run, ``disable_due`` decides).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

from services.notifier.errors import InvalidRetrySchedule

# Delays before attempts 1..8: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (Svix).
DEFAULT_DELAYS_SECONDS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_JITTER = 0.1
DEFAULT_DISABLE_AFTER = timedelta(days=5)
RESPONSE_EXCERPT_BYTES = 4096

# Statuses whose Retry-After header asks the sender to hold off (RFC 9110 sections 15.5.20, 15.6.4).
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_GONE = 410


class RandomSource(Protocol):
    """Where jitter comes from; ``random.Random`` fits, tests pass a fixed one."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True)
class RetrySchedule:
    """Delays before each attempt (the first is usually 0) and the jitter fraction applied."""

    delays: tuple[timedelta, ...]
    jitter: float = DEFAULT_JITTER

    def __post_init__(self) -> None:
        if not self.delays:
            raise InvalidRetrySchedule("a retry schedule needs at least one attempt")
        if any(delay < timedelta(0) for delay in self.delays):
            raise InvalidRetrySchedule("retry delays cannot be negative")
        if not 0 <= self.jitter < 1:
            raise InvalidRetrySchedule(f"jitter {self.jitter} must be in [0, 1)")

    @classmethod
    def from_seconds(
        cls, seconds: Iterable[float] = DEFAULT_DELAYS_SECONDS, jitter: float = DEFAULT_JITTER
    ) -> RetrySchedule:
        """A schedule from delays in seconds, as settings carry them."""
        return cls(tuple(timedelta(seconds=value) for value in seconds), jitter)

    @property
    def max_attempts(self) -> int:
        """How many attempts a message gets before it is dead-lettered."""
        return len(self.delays)


@dataclass(frozen=True)
class Delivered:
    """The receiver answered 2xx."""

    status: int


@dataclass(frozen=True)
class RetryableFailure:
    """The attempt failed but may succeed later; ``retry_after`` is the receiver's own ask."""

    reason: str
    status: int | None = None
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class EndpointGone:
    """The receiver answered 410 Gone: stop sending and disable the endpoint."""

    status: int = _GONE


AttemptFailure = RetryableFailure | EndpointGone
AttemptOutcome = Delivered | AttemptFailure


class DeadLetterReason(StrEnum):
    """Why a message stopped being retried."""

    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    ENDPOINT_GONE = "endpoint_gone"
    # Pending when its endpoint was disabled for failing (another message's 410, or five days).
    ENDPOINT_DISABLED = "endpoint_disabled"


@dataclass(frozen=True)
class DeadLetter:
    """No further attempt: the message waits in the dead letters until someone replays it."""

    reason: DeadLetterReason
    attempts: int

    @property
    def disables_endpoint(self) -> bool:
        """Whether the endpoint itself must be disabled, not only this message parked."""
        return self.reason is DeadLetterReason.ENDPOINT_GONE


def response_outcome(status: int, headers: Mapping[str, str], now: datetime) -> AttemptOutcome:
    """Classify an HTTP response; ``headers`` keys are matched case-insensitively."""
    if 200 <= status < 300:
        return Delivered(status)
    if status == _GONE:
        return EndpointGone()
    retry_after = None
    if status in _RETRY_AFTER_STATUSES:
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        retry_after = parse_retry_after(value, now) if value is not None else None
    return RetryableFailure(f"HTTP {status}", status=status, retry_after=retry_after)


def transport_failure(reason: str) -> RetryableFailure:
    """A timeout, refused connection or TLS error: no response, so always retryable."""
    return RetryableFailure(reason)


def parse_retry_after(value: str, now: datetime) -> timedelta | None:
    """Retry-After as delay-seconds or an HTTP-date; None if unparseable, zero if in the past."""
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    # HTTP-dates are always GMT; parsedate_to_datetime returns naive only for "-0000" zones.
    if moment.tzinfo is None:
        return None
    return max(moment - now, timedelta(0))


def next_attempt(
    attempt_number: int,
    outcome: AttemptFailure,
    now: datetime,
    schedule: RetrySchedule,
    rng: RandomSource,
) -> datetime | DeadLetter:
    """When to make the attempt after failed attempt ``attempt_number`` (1-based), or stop.

    The scheduled delay gets +-``schedule.jitter`` so endpoints that failed together do not
    all retry in the same second. A receiver's Retry-After is honoured as a lower bound, capped at
    the schedule's longest delay so a receiver cannot park a message indefinitely.
    """
    if attempt_number < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt_number}")
    if isinstance(outcome, EndpointGone):
        return DeadLetter(DeadLetterReason.ENDPOINT_GONE, attempt_number)
    if attempt_number >= schedule.max_attempts:
        return DeadLetter(DeadLetterReason.ATTEMPTS_EXHAUSTED, attempt_number)
    scheduled = schedule.delays[attempt_number]
    delay = scheduled * (1 + rng.uniform(-schedule.jitter, schedule.jitter))
    if outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, max(schedule.delays)))
    return now + delay


def updated_failing_since(
    outcome: AttemptOutcome, previous: datetime | None, now: datetime
) -> datetime | None:
    """When the endpoint's current run of failures began, after this attempt (None: healthy)."""
    if isinstance(outcome, Delivered):
        return None
    return previous if previous is not None else now


def disable_due(
    failing_since: datetime | None, now: datetime, after: timedelta = DEFAULT_DISABLE_AFTER
) -> bool:
    """Whether an endpoint failing continuously since ``failing_since`` should be disabled."""
    return failing_since is not None and now - failing_since >= after


def response_excerpt(body: bytes, limit: int = RESPONSE_EXCERPT_BYTES) -> str:
    """The first ``limit`` bytes of a response body as text, for the attempt log.

    Invalid UTF-8 becomes U+FFFD; a character cut in half at the limit is dropped rather than
    logged as a replacement character.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # final=False keeps an incomplete trailing sequence buffered instead of decoding it.
    return decoder.decode(body[:limit], final=False)
