"""Retry schedule, attempt outcomes, dead letters, auto-disable and the attempt-log excerpt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.errors import InvalidRetrySchedule
from services.notifier.schedule import (
    DeadLetter,
    DeadLetterReason,
    Delivered,
    EndpointGone,
    RetryableFailure,
    RetrySchedule,
    disable_due,
    next_attempt,
    parse_retry_after,
    response_excerpt,
    response_outcome,
    transport_failure,
    updated_failing_since,
)

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
FAILED = RetryableFailure("HTTP 500", status=500)


class FixedDraw:
    """A random source that always draws ``fraction`` of the way from a to b, and records calls."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + (b - a) * self.fraction


NO_JITTER = FixedDraw(0.5)  # draws the midpoint 0 of [-j, j]


def test_default_schedule_is_the_svix_table() -> None:
    schedule = RetrySchedule.from_seconds()
    assert schedule.delays == (
        timedelta(0),
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    )
    assert schedule.max_attempts == 8
    assert schedule.jitter == 0.1


@pytest.mark.parametrize(
    ("failed_attempt", "expected_delay"),
    [
        (1, timedelta(seconds=5)),
        (2, timedelta(minutes=5)),
        (3, timedelta(minutes=30)),
        (4, timedelta(hours=2)),
        (5, timedelta(hours=5)),
        (6, timedelta(hours=10)),
        (7, timedelta(hours=10)),
    ],
)
def test_each_failed_attempt_waits_the_next_scheduled_delay(
    failed_attempt: int, expected_delay: timedelta
) -> None:
    result = next_attempt(failed_attempt, FAILED, NOW, RetrySchedule.from_seconds(), NO_JITTER)
    assert result == NOW + expected_delay


def test_jitter_extremes_are_plus_and_minus_the_fraction() -> None:
    schedule = RetrySchedule.from_seconds([0, 100], jitter=0.1)
    lowest, highest = FixedDraw(0.0), FixedDraw(1.0)

    # 100 s x (1 - 0.1) = 90 s; 100 s x (1 + 0.1) = 110 s.
    assert next_attempt(1, FAILED, NOW, schedule, lowest) == NOW + timedelta(seconds=90)
    assert next_attempt(1, FAILED, NOW, schedule, highest) == NOW + timedelta(seconds=110)
    assert lowest.calls == [(-0.1, 0.1)]


def test_jittered_delays_stay_within_bounds_and_spread() -> None:
    schedule = RetrySchedule.from_seconds([0, 300], jitter=0.1)
    rng = random.Random(20240601)
    delays = []
    for _ in range(500):
        result = next_attempt(1, FAILED, NOW, schedule, rng)
        assert isinstance(result, datetime)
        delays.append((result - NOW).total_seconds())

    assert all(270 <= delay <= 330 for delay in delays)  # 300 s +- 10%
    assert min(delays) < 285 and max(delays) > 315  # actually spread, not constant


def test_dead_letter_after_the_last_attempt() -> None:
    schedule = RetrySchedule.from_seconds([0, 1, 2], jitter=0)

    assert isinstance(next_attempt(2, FAILED, NOW, schedule, NO_JITTER), datetime)
    assert next_attempt(3, FAILED, NOW, schedule, NO_JITTER) == DeadLetter(
        DeadLetterReason.ATTEMPTS_EXHAUSTED, attempts=3
    )


def test_gone_endpoint_dead_letters_at_once_and_disables_the_endpoint() -> None:
    outcome = response_outcome(410, {}, NOW)
    assert isinstance(outcome, EndpointGone)

    result = next_attempt(1, outcome, NOW, RetrySchedule.from_seconds(), NO_JITTER)

    assert result == DeadLetter(DeadLetterReason.ENDPOINT_GONE, attempts=1)
    assert isinstance(result, DeadLetter) and result.disables_endpoint


def test_exhausted_attempts_do_not_disable_the_endpoint() -> None:
    assert not DeadLetter(DeadLetterReason.ATTEMPTS_EXHAUSTED, attempts=8).disables_endpoint


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_only_2xx_is_delivered(status: int) -> None:
    assert response_outcome(status, {}, NOW) == Delivered(status)


@pytest.mark.parametrize("status", [100, 301, 302, 400, 401, 404, 413, 422, 500, 502, 504])
def test_every_other_status_except_410_is_retried(status: int) -> None:
    assert response_outcome(status, {}, NOW) == RetryableFailure(f"HTTP {status}", status=status)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_read_for_429_and_503(status: int) -> None:
    outcome = response_outcome(status, {"Retry-After": "120"}, NOW)
    assert isinstance(outcome, RetryableFailure)
    assert outcome.retry_after == timedelta(seconds=120)


def test_retry_after_http_date_is_read() -> None:
    # NOW is 12:00:00 GMT; the date is 12:10:00 GMT, so 600 s later.
    outcome = response_outcome(503, {"retry-after": "Sat, 01 Jun 2024 12:10:00 GMT"}, NOW)
    assert isinstance(outcome, RetryableFailure)
    assert outcome.retry_after == timedelta(seconds=600)


def test_retry_after_is_ignored_on_other_statuses() -> None:
    outcome = response_outcome(500, {"Retry-After": "120"}, NOW)
    assert isinstance(outcome, RetryableFailure)
    assert outcome.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", timedelta(0)),
        (" 30 ", timedelta(seconds=30)),
        ("Sat, 01 Jun 2024 11:00:00 GMT", timedelta(0)),  # already past
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_values(value: str, expected: timedelta | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_longer_than_the_schedule_delay_is_honoured() -> None:
    schedule = RetrySchedule.from_seconds([0, 5, 300], jitter=0)
    outcome = RetryableFailure("HTTP 429", status=429, retry_after=timedelta(seconds=60))
    # max(scheduled 5 s, asked 60 s) = 60 s
    assert next_attempt(1, outcome, NOW, schedule, NO_JITTER) == NOW + timedelta(seconds=60)


def test_retry_after_shorter_than_the_schedule_delay_keeps_the_schedule() -> None:
    schedule = RetrySchedule.from_seconds([0, 5, 300], jitter=0)
    outcome = RetryableFailure("HTTP 429", status=429, retry_after=timedelta(seconds=1))
    assert next_attempt(1, outcome, NOW, schedule, NO_JITTER) == NOW + timedelta(seconds=5)


def test_retry_after_is_capped_at_the_longest_scheduled_delay() -> None:
    schedule = RetrySchedule.from_seconds([0, 5, 300], jitter=0)
    outcome = RetryableFailure("HTTP 503", status=503, retry_after=timedelta(days=30))
    assert next_attempt(1, outcome, NOW, schedule, NO_JITTER) == NOW + timedelta(seconds=300)


def test_transport_failures_are_retried() -> None:
    outcome = transport_failure("connect timeout")
    schedule = RetrySchedule.from_seconds([0, 5], jitter=0)
    assert outcome == RetryableFailure("connect timeout")
    assert next_attempt(1, outcome, NOW, schedule, NO_JITTER) == NOW + timedelta(seconds=5)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        next_attempt(0, FAILED, NOW, RetrySchedule.from_seconds(), NO_JITTER)


@pytest.mark.parametrize(
    ("seconds", "jitter"), [([], 0.1), ([0, -1], 0.1), ([0, 5], 1.0), ([0, 5], -0.1)]
)
def test_invalid_schedules_are_refused(seconds: list[float], jitter: float) -> None:
    with pytest.raises(InvalidRetrySchedule):
        RetrySchedule.from_seconds(seconds, jitter)


def test_failure_run_starts_at_the_first_failure_and_ends_at_a_success() -> None:
    first_failure = NOW
    later = NOW + timedelta(hours=3)

    assert updated_failing_since(FAILED, None, first_failure) == first_failure
    assert updated_failing_since(FAILED, first_failure, later) == first_failure
    assert updated_failing_since(EndpointGone(), first_failure, later) == first_failure
    assert updated_failing_since(Delivered(200), first_failure, later) is None


@pytest.mark.parametrize(
    ("failing_for", "expected"),
    [
        (None, False),
        (timedelta(days=4, hours=23, minutes=59), False),
        (timedelta(days=5), True),
        (timedelta(days=6), True),
    ],
)
def test_endpoint_is_disabled_after_five_days_of_continuous_failure(
    failing_for: timedelta | None, expected: bool
) -> None:
    since = None if failing_for is None else NOW - failing_for
    assert disable_due(since, NOW) is expected


def test_disable_threshold_is_configurable() -> None:
    assert disable_due(NOW - timedelta(minutes=2), NOW, after=timedelta(minutes=1))


def test_excerpt_keeps_the_first_4_kib() -> None:
    assert response_excerpt(b"x" * 5000) == "x" * 4096


def test_excerpt_drops_a_character_cut_at_the_limit() -> None:
    # "é" is 2 bytes in UTF-8: bytes 4096 and 4097; only its first byte fits in 4096.
    body = b"a" * 4095 + "é".encode() + b"tail"
    assert response_excerpt(body) == "a" * 4095


def test_excerpt_replaces_invalid_utf8() -> None:
    assert response_excerpt(b"ok \xff\xfe done", limit=100) == "ok \ufffd\ufffd done"
