"""Which events count, and how a batch becomes daily totals, active people and seats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from services.equivalents import usage
from shared.events import Envelope, EventKind, EventSource

MOMENT = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)


def event(
    event_id: str,
    *,
    kind: EventKind = EventKind.USAGE,
    name: str = "transactions_processed",
    value: float = 1.0,
    account: str | None = "acme",
    person: str | None = None,
    unit: str | None = None,
    properties: dict[str, Any] | None = None,
    at: datetime = MOMENT,
) -> Envelope:
    return Envelope(
        id=event_id,
        tenant_id="tn_1",
        account_id=account,
        person_id=person,
        kind=kind,
        name=name,
        value=value,
        unit=unit,
        properties=properties or {},
        occurred_at=at,
        received_at=at,
        source=EventSource.REST,
    )


def test_only_usage_with_an_account_and_seat_reports_count() -> None:
    kept = usage.unique(
        [
            event("a"),
            event("a"),
            event("b", account=None),
            event("c", kind=EventKind.ACTIVITY),
            event("d", kind=EventKind.PERFORMANCE),
            event("e", kind=EventKind.LIFECYCLE, name="account.identified"),
            event(
                "f",
                kind=EventKind.LIFECYCLE,
                name="account.identified",
                properties={"seats": 25},
            ),
        ]
    )
    assert [e.id for e in kept] == ["a", "f"]


def test_batch_is_summed_per_metric_unit_and_utc_day() -> None:
    paris = timezone(timedelta(hours=1))
    totals = usage.daily_totals(
        [
            event("1", value=10),
            event("2", value=5),
            event("3", value=2, unit="kWh", name="solar"),
            # 00:15 in Paris on 3 November is 23:15 UTC on 2 November
            event("4", value=1, at=datetime(2026, 11, 3, 0, 15, tzinfo=paris)),
            event("5", value=7, at=MOMENT + timedelta(hours=1)),
        ]
    )
    assert {(t.metric, t.unit, t.day, t.total, t.events) for t in totals} == {
        ("transactions_processed", "", date(2026, 11, 2), 16, 3),
        ("solar", "kWh", date(2026, 11, 2), 2, 1),
        ("transactions_processed", "", date(2026, 11, 3), 7, 1),
    }


def test_active_people_are_distinct_per_day() -> None:
    people = usage.active_people(
        [event("1", person="ann"), event("2", person="ann"), event("3", person="bob"), event("4")]
    )
    assert [p.person_id for p in people] == ["ann", "bob"]


def test_seats_come_from_properties_or_traits_and_the_latest_wins() -> None:
    def identified(event_id: str, properties: dict[str, Any], at: datetime) -> Envelope:
        return event(
            event_id,
            kind=EventKind.LIFECYCLE,
            name="account.identified",
            properties=properties,
            at=at,
        )

    assert usage.seats_of(identified("1", {"traits": {"seats": 12}}, MOMENT)) == 12
    assert usage.seats_of(identified("2", {"seats": 12.0}, MOMENT)) == 12
    for bad in (0, -3, 2.5, True, "12"):
        assert usage.seats_of(identified("3", {"seats": bad}, MOMENT)) is None
    updates = usage.seats_updates(
        [
            identified("4", {"seats": 50}, MOMENT + timedelta(days=1)),
            identified("5", {"seats": 40}, MOMENT),
        ]
    )
    assert [(s.account_id, s.seats) for s in updates] == [("acme", 50)]
