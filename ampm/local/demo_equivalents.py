"""The demo's two customers whose usage becomes equivalents.

- Sunny Roofs, a solar-monitoring customer whose kWh become EPA equivalents; a fourth array
  goes live in the last two weeks and the weekly generation objective is reached.
- Acme Logistics, a usage-heavy integration customer whose transactions become hours and FTEs;
  30 of its 40 licensed people use it.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from ampm.local.demo_events import WEEKS, Event, activity, event

SUNNY_ROOFS = "sunny-roofs"

ACME = "acme-logistics"

ACME_ACTIVE_USERS = 30

SUNNY_BASELINE_KWH = 590

SUNNY_TARGET_KWH = 700

NEW_ARRAY_WEEKS = 2


def sunny_roofs_plan(deadline: date) -> dict[str, Any]:
    """Weekly generation from about 590 kWh to 700 kWh, by bringing a fourth array online."""
    return {
        "objectives": [
            {
                "metric": "energy_generated",
                "title": f"Weekly solar generation at {SUNNY_TARGET_KWH} kWh",
                "unit": "kWh",
                "baseline": SUNNY_BASELINE_KWH,
                "target": SUNNY_TARGET_KWH,
                "direction": "up",
                "deadline": deadline.isoformat(),
                "aggregation": "sum",
            }
        ],
        "itinerary": [
            activity(
                "panel_inspections",
                "Inspect every array once a week",
                "routine",
                3,
                "increase",
            ),
        ],
        "sponsor_id": "sr-owner",
        "adoption_owner_id": "sr-ops",
    }


def sunny_roofs_events(events: list[Event], start: date, rng: random.Random) -> None:
    """Sunny Roofs' people, readings of its arrays every day, and its weekly inspections."""
    account = SUNNY_ROOFS
    events.append(
        event(
            "lifecycle",
            "account.identified",
            account,
            start,
            properties={"name": "Sunny Roofs", "segment": "solar", "plan": "starter", "seats": 5},
        )
    )
    people = {"sr-owner": "sponsor", "sr-ops": "adoption_owner", "sr-tech": "end_user"}
    for person, role in people.items():
        events.append(
            event(
                "lifecycle",
                "person.identified",
                account,
                start,
                person_id=person,
                properties={"role": role, "status": "active"},
            )
        )
    for day in range(WEEKS * 7):
        moment = start + timedelta(days=day)
        sites = ["north", "south", "barn"]
        if day >= (WEEKS - NEW_ARRAY_WEEKS) * 7:
            sites.append("garage")  # the fourth array goes live
        for site in sites:
            events.append(
                event(
                    "usage",
                    "energy_generated",
                    account,
                    moment,
                    person_id=rng.choice(list(people)),  # who checked the array's readings
                    value=round(max(0.0, rng.gauss(28, 6)), 1),
                    unit="kWh",
                    properties={"site": site},
                )
            )
        if moment.weekday() == 0:
            events.append(event("activity", "panel_inspections", account, moment, value=len(sites)))


def acme_events(events: list[Event], start: date, rng: random.Random) -> None:
    """Acme's ERP syncs: each working day about a third of its active people run one."""
    account = ACME
    events.append(
        event(
            "lifecycle",
            "account.identified",
            account,
            start,
            properties={
                "name": "Acme Logistics",
                "segment": "logistics",
                "plan": "enterprise",
                "seats": 40,
            },
        )
    )
    users = [f"acme-user-{n:02d}" for n in range(ACME_ACTIVE_USERS)]
    for day in range(WEEKS * 7):
        moment = start + timedelta(days=day)
        if moment.weekday() < 5:
            # Each working day about a third of the people run the ERP sync, 12-15 each.
            for user in rng.sample(users, k=ACME_ACTIVE_USERS // 3):
                events.append(
                    event(
                        "usage",
                        "transactions_processed",
                        account,
                        moment,
                        person_id=user,
                        value=rng.randint(36, 44),
                        unit="transactions",
                        properties={"integration": "erp-sync"},
                    )
                )
