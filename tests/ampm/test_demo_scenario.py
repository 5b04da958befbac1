"""The demo scenario tells the story the README promises (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from ampm.local.demo_equivalents import ACME, SUNNY_ROOFS
from ampm.local.demo_events import WEEKS
from ampm.local.demo_scenario import (
    LEAD_WEEKS,
    NORTHWIND,
    SPONSOR_LEAVES_WEEK,
    SUCCESSOR_WEEK,
    build_scenario,
    end_of_quarter,
    scenario_start,
)
from services.ingest.native import NativeLimits, normalize_native

TODAY = date(2026, 11, 26)


def _weekly(events: list[dict[str, Any]], name: str) -> list[float]:
    return [e["value"] for e in events if e["name"] == name and e["account_id"] == NORTHWIND]


def test_every_event_is_valid_for_the_native_api() -> None:
    scenario = build_scenario(TODAY)
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    limits = NativeLimits(max_events=len(scenario.events), max_body_bytes=10_000_000)
    envelopes = normalize_native({"events": scenario.events}, "tn_demo", now, limits)
    assert len(envelopes) == len(scenario.events)
    assert [e.occurred_at for e in envelopes] == sorted(e.occurred_at for e in envelopes)


def test_activity_leads_conversion_by_two_weeks() -> None:
    scenario = build_scenario(TODAY)
    contacts = np.array(_weekly(scenario.events, "new_contacts_identified"), dtype=float)
    conversion = np.array(_weekly(scenario.events, "lead_conversion_rate"), dtype=float)
    by_lag = {
        lag: np.corrcoef(contacts[: len(contacts) - lag], conversion[lag:])[0, 1]
        for lag in range(5)
    }
    assert max(by_lag, key=lambda lag: by_lag[lag]) == LEAD_WEEKS
    assert by_lag[LEAD_WEEKS] > 0.9


def test_conversion_starts_near_baseline_and_sponsor_changes_on_schedule() -> None:
    scenario = build_scenario(TODAY)
    conversion = _weekly(scenario.events, "lead_conversion_rate")
    assert abs(conversion[0] - 2.2) < 0.2
    start = scenario_start(TODAY)
    departed = [e for e in scenario.events if e["name"] == "stakeholder.departed"]
    successor = [
        e
        for e in scenario.events
        if e["name"] == "person.identified" and e.get("person_id") == "nw-cro"
    ]
    assert len(departed) == 1 and departed[0]["properties"]["role"] == "sponsor"
    assert (date.fromisoformat(departed[0]["occurred_at"][:10]) - start).days // 7 == (
        SPONSOR_LEAVES_WEEK
    )
    assert (date.fromisoformat(successor[0]["occurred_at"][:10]) - start).days // 7 == (
        SUCCESSOR_WEEK
    )


def test_plan_deadline_is_the_end_of_the_quarter() -> None:
    assert end_of_quarter(date(2026, 11, 26)) == date(2026, 12, 31)
    assert end_of_quarter(date(2026, 2, 1)) == date(2026, 3, 31)
    plan = build_scenario(TODAY).plans[NORTHWIND]
    assert plan["objectives"][0]["deadline"] == "2026-12-31"
    assert len(plan["itinerary"]) == 7


def test_sunny_roofs_reaches_its_weekly_objective_in_the_last_two_weeks_only() -> None:
    scenario = build_scenario(TODAY)
    plan = scenario.plans[SUNNY_ROOFS]["objectives"][0]
    start = scenario_start(TODAY)
    weekly = [0.0] * WEEKS
    for event in scenario.events:
        if event["account_id"] == SUNNY_ROOFS and event["name"] == "energy_generated":
            day = datetime.fromisoformat(event["occurred_at"]).date()
            weekly[(day - start).days // 7] += event["value"]
    reached = [total >= plan["target"] for total in weekly]
    assert reached == [False] * (WEEKS - 2) + [True, True]
    assert abs(sum(weekly[:4]) / 4 - plan["baseline"]) < 0.05 * plan["baseline"]


def test_acme_logistics_is_used_by_most_of_its_licensed_people() -> None:
    scenario = build_scenario(TODAY)
    (identified,) = [
        e for e in scenario.events if e["account_id"] == ACME and e["name"] == "account.identified"
    ]
    users = {
        e["person_id"]
        for e in scenario.events
        if e["account_id"] == ACME and e["kind"] == "usage" and e["occurred_at"] >= "2026-10-27"
    }
    assert 0.6 <= len(users) / identified["properties"]["seats"] <= 0.9
