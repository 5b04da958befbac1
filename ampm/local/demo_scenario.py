"""The demo tenant's scenario as data: three customers, twelve weeks of events.

- Northwind Leads, a B2B customer of lead-generation software: objective lead conversion
  2.2% -> 3.2% by the end of Q4, seven itinerary activities that lead the KPI by two weeks, the
  executive sponsor leaves in week 8 and a successor is named in week 10.
- Sunny Roofs and Acme Logistics, whose usage becomes equivalents (``demo_equivalents``).

Pure functions of a start date and a seed, so a test can check the story the data tells.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ampm.local.demo_equivalents import (
    SUNNY_ROOFS,
    acme_events,
    sunny_roofs_events,
    sunny_roofs_plan,
)
from ampm.local.demo_events import WEEKS, Event, activity, event

LEAD_WEEKS = 2
SPONSOR_LEAVES_WEEK = 8
SUCCESSOR_WEEK = 10
NORTHWIND = "northwind-leads"


@dataclass(frozen=True)
class Scenario:
    """Events to replay in order, the success plans to set, and tenant parameters."""

    events: list[Event]
    plans: dict[str, dict[str, Any]]
    start: date
    contacts_by_week: list[float] = field(default_factory=list)
    conversion_by_week: list[float] = field(default_factory=list)


def scenario_start(today: date) -> date:
    """The Monday twelve weeks before the current week, so every week is complete."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(weeks=WEEKS)


def end_of_quarter(day: date) -> date:
    quarter_end_month = 3 * ((day.month - 1) // 3 + 1)
    first_of_next = date(day.year + quarter_end_month // 12, quarter_end_month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def build_scenario(today: date, seed: int = 7) -> Scenario:
    """All three customers' events, sorted by time, and Northwind's success plan."""
    rng = random.Random(seed)
    start = scenario_start(today)
    events: list[Event] = []
    contacts, conversion = _northwind(events, start, rng)
    sunny_roofs_events(events, start, rng)
    acme_events(events, start, rng)
    events.sort(key=lambda e: e["occurred_at"])
    plans = {
        NORTHWIND: northwind_plan(end_of_quarter(today)),
        SUNNY_ROOFS: sunny_roofs_plan(end_of_quarter(today)),
    }
    return Scenario(events, plans, start, contacts, conversion)


def northwind_plan(deadline: date) -> dict[str, Any]:
    """Lead conversion 2.2% -> 3.2% by the deadline, through seven committed activities."""
    return {
        "objectives": [
            {
                "metric": "lead_conversion_rate",
                "title": "Lead conversion rate from 2.2% to 3.2% by the end of Q4",
                "unit": "%",
                "baseline": 2.2,
                "target": 3.2,
                "direction": "up",
                "deadline": deadline.isoformat(),
                "aggregation": "last",
            }
        ],
        "itinerary": [
            activity(
                "lead_gen_dedicated_fte",
                "A dedicated person full time on lead generation",
                "organisation",
                1,
                "increase",
                "last",
            ),
            activity(
                "new_contacts_identified",
                "+25% newly identified contacts per week",
                "process",
                50,
                "increase",
            ),
            activity(
                "targeted_profiles_created",
                "+15% targeted profiles per week",
                "process",
                23,
                "increase",
            ),
            activity(
                "social_campaigns_launched",
                "+20% social campaigns per month",
                "tool",
                1.2,
                "increase",
            ),
            activity("emails_bounced", "Fewer bounced emails", "routine", 20, "decrease"),
            activity("cold_calls_made", "Stop cold calling", "behaviour", 0, "stop"),
            activity(
                "legacy_excel_opened",
                "Stop using the legacy shared Excel file",
                "behaviour",
                0,
                "stop",
            ),
        ],
        "sponsor_id": "nw-ceo",
        "adoption_owner_id": "nw-ops",
    }


def _northwind(
    events: list[Event], start: date, rng: random.Random
) -> tuple[list[float], list[float]]:
    account = NORTHWIND
    events.append(
        event(
            "lifecycle",
            "account.identified",
            account,
            start,
            properties={
                "name": "Northwind Leads",
                "segment": "b2b-lead-gen",
                "plan": "growth",
                "seats": 25,
            },
        )
    )
    people: dict[str, dict[str, str]] = {
        "nw-ceo": {"role": "sponsor", "title": "CEO", "name": "Dana Reyes"},
        "nw-ops": {"role": "adoption_owner", "title": "Sales operations lead", "name": "Sam Lee"},
        "nw-sales-mgr": {"role": "supervisor", "title": "Sales manager", "name": "Kim Park"},
    }
    users = [f"nw-rep-{n}" for n in range(1, 7)]
    people.update(
        {
            user: {"role": "end_user", "title": "Sales rep", "supervisor_id": "nw-sales-mgr"}
            for user in users
        }
    )
    for person, traits in people.items():
        events.append(
            event(
                "lifecycle",
                "person.identified",
                account,
                start,
                person_id=person,
                properties={**traits, "status": "active"},
            )
        )

    # Contacts drive conversion two weeks later; the weeks before the scenario are the baseline.
    contacts = [40.0 + rng.gauss(0, 1.5) for _ in range(LEAD_WEEKS)]
    contacts += [40.0 + 2.2 * week + rng.gauss(0, 4.0) for week in range(WEEKS)]
    conversion = [  # in percent, as the plan's objective
        2.2 + 0.045 * (contacts[week] - 40.0) + rng.gauss(0, 0.02) for week in range(WEEKS)
    ]
    for week in range(WEEKS):
        monday = start + timedelta(weeks=week)
        mid = monday + timedelta(days=2)
        driven = contacts[week + LEAD_WEEKS]
        weekly = {
            "lead_gen_dedicated_fte": 0.0 if week < 2 else 1.0,
            "new_contacts_identified": round(driven),
            "targeted_profiles_created": round(20 + 0.45 * (driven - 40) + rng.gauss(0, 1)),
            "social_campaigns_launched": 1 + (week % 3 == 0) + (week >= 6),
            "emails_bounced": max(0, round(30 - 1.2 * week + rng.gauss(0, 2))),
            "cold_calls_made": max(0, 25 - 7 * week),
            "legacy_excel_opened": max(0, 12 - 3 * week),
        }
        for name, value in weekly.items():
            events.append(
                event(
                    "activity",
                    name,
                    account,
                    mid,
                    value=value,
                    person_id="nw-ops",
                    properties={"source": "crm"},
                )
            )
        events.append(
            event(
                "performance",
                "lead_conversion_rate",
                account,
                monday + timedelta(days=4),
                value=round(conversion[week], 3),
                unit="percent",
            )
        )
        for day in range(5):
            for user in users:
                if rng.random() < 0.8:
                    events.append(
                        event(
                            "usage",
                            "leads_exported",
                            account,
                            monday + timedelta(days=day),
                            value=rng.randint(3, 12),
                            person_id=user,
                        )
                    )
        if week == SPONSOR_LEAVES_WEEK:
            events.append(
                event(
                    "lifecycle",
                    "stakeholder.departed",
                    account,
                    mid,
                    person_id="nw-ceo",
                    properties={"role": "sponsor", "reason": "left the company"},
                )
            )
        if week == SUCCESSOR_WEEK:
            # The successor is introduced, then formally handed the role (the plan names them).
            events.append(
                event(
                    "lifecycle",
                    "person.identified",
                    account,
                    mid,
                    person_id="nw-cro",
                    properties={
                        "title": "Chief revenue officer",
                        "name": "Alex Chen",
                        "status": "active",
                    },
                )
            )
            events.append(
                event(
                    "lifecycle",
                    "sponsor.assigned",
                    account,
                    mid + timedelta(hours=1),
                    person_id="nw-cro",
                )
            )
    return contacts[LEAD_WEEKS:], conversion
