"""Which events count towards an account's value, and how a batch of them becomes daily rows.

Decisions (documented in the README):

- Usage events (``kind = usage``) with an ``account_id`` add their ``value`` to the daily total
  of their metric (the event ``name``) in their ``unit``. Activity events measure what people
  do around the product (calls made, campaigns run) and performance events are KPIs such as
  rates that cannot be summed: neither is converted into equivalents.
- A usage event with a ``person_id`` makes that person active for the account that day;
  adoption counts distinct active people.
- A lifecycle ``account.identified`` event with a positive integer ``seats`` (in ``properties``
  or in ``properties.traits``, as Segment ``group``/``identify`` calls carry them) sets the
  account's licensed seats; a later event wins.
- Days are UTC calendar days of ``occurred_at``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from shared.events import Envelope, EventKind

ACCOUNT_IDENTIFIED = "account.identified"


@dataclass(frozen=True, slots=True)
class DailyTotal:
    """Usage to add to one (tenant, account, metric, unit, day) total."""

    tenant_id: str
    account_id: str
    metric: str
    unit: str
    day: date
    total: float
    events: int


@dataclass(frozen=True, slots=True)
class ActivePerson:
    """A person active for an account on a day."""

    tenant_id: str
    account_id: str
    day: date
    person_id: str


@dataclass(frozen=True, slots=True)
class Seats:
    """An account's licensed seats as of an event's time."""

    tenant_id: str
    account_id: str
    seats: int
    as_of: datetime


def counts(event: Envelope) -> bool:
    """Whether the event changes anything this service keeps."""
    if event.account_id is None:
        return False
    if event.kind is EventKind.USAGE:
        return True
    return event.kind is EventKind.LIFECYCLE and seats_of(event) is not None


def seats_of(event: Envelope) -> int | None:
    """Licensed seats an ``account.identified`` event reports, if any."""
    if event.name != ACCOUNT_IDENTIFIED:
        return None
    traits = event.properties.get("traits")
    candidates: list[Any] = [event.properties.get("seats")]
    if isinstance(traits, dict):
        candidates.append(traits.get("seats"))
    for value in candidates:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and value > 0 and float(value).is_integer():
            return int(value)
    return None


def unique(events: Iterable[Envelope]) -> list[Envelope]:
    """The events that count, each (tenant, id) once, first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    kept: list[Envelope] = []
    for event in events:
        key = (event.tenant_id, event.id)
        if counts(event) and key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


def daily_totals(events: Sequence[Envelope]) -> list[DailyTotal]:
    """Usage of a batch summed per (tenant, account, metric, unit, day)."""
    sums: dict[tuple[str, str, str, str, date], tuple[float, int]] = {}
    for event in events:
        if event.kind is not EventKind.USAGE or event.account_id is None:
            continue
        key = (
            event.tenant_id,
            event.account_id,
            event.name,
            (event.unit or "").strip(),
            _utc_day(event),
        )
        total, number = sums.get(key, (0.0, 0))
        sums[key] = (total + event.value, number + 1)
    return [DailyTotal(*key, total, number) for key, (total, number) in sums.items()]


def active_people(events: Sequence[Envelope]) -> list[ActivePerson]:
    """Distinct (tenant, account, day, person) of the batch's usage events."""
    people = {
        ActivePerson(event.tenant_id, event.account_id, _utc_day(event), event.person_id)
        for event in events
        if event.kind is EventKind.USAGE and event.account_id and event.person_id
    }
    return sorted(people, key=lambda p: (p.tenant_id, p.account_id, p.day, p.person_id))


def seats_updates(events: Sequence[Envelope]) -> list[Seats]:
    """The latest seats per account of the batch."""
    latest: dict[tuple[str, str], Seats] = {}
    for event in events:
        seats = seats_of(event)
        if seats is None or event.account_id is None:
            continue
        key = (event.tenant_id, event.account_id)
        current = latest.get(key)
        if current is None or current.as_of <= event.occurred_at:
            latest[key] = Seats(event.tenant_id, event.account_id, seats, event.occurred_at)
    return list(latest.values())


def _utc_day(event: Envelope) -> date:
    return event.occurred_at.astimezone(UTC).date()
