"""One notion of time: the current instant and its one written form.

Every timestamp the services store, answer or push is an aware UTC ``datetime``, written as
RFC 3339 with ``Z`` (``2026-12-01T16:48:57.073927Z``): the form pydantic gives aware UTC
values, so timestamps built by hand (signal evidence, webhook data) read the same as those of
the response models.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def timestamp(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with ``Z``; raises ValueError for a naive ``datetime``."""
    if moment.tzinfo is None:
        raise ValueError("a timestamp needs an aware datetime")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
