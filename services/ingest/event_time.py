"""When an event may have happened: a window around the server's clock (pure).

An ``occurred_at`` from before the product could have existed, or from days ahead, is a bug or
an attack on the time-based judgements (a "week" in 1970 or 2099 would open periods nobody
reads): it is refused by name rather than stored. The Segment routes correct clock skew first
(``receivedAt - (sentAt - originalTimestamp)``), so a device whose clock is wrong still lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class EventTimeWindow:
    """The accepted range of ``occurred_at``: from ``earliest`` to ``max_ahead`` past now."""

    earliest: datetime = EARLIEST
    max_ahead: timedelta = MAX_AHEAD

    def problem(self, occurred_at: datetime, now: datetime) -> str | None:
        """Why ``occurred_at`` is refused, or None when it is inside the window."""
        if occurred_at < self.earliest:
            return f"before {self.earliest.date().isoformat()}"
        latest = now + self.max_ahead
        if occurred_at > latest:
            return f"more than {self.max_ahead} ahead of the server's clock ({now.isoformat()})"
        return None


DEFAULT_WINDOW = EventTimeWindow()
