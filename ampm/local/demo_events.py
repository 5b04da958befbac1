"""The building blocks of the demo's events: the scenario's length, one event, one activity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

WEEKS = 12
"""How many complete weeks the scenario covers."""

Event = dict[str, Any]


def at(day: date, hour: int = 10) -> str:
    """A moment of ``day`` as the events carry it (ISO 8601, UTC)."""
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()


def event(kind: str, name: str, account: str, day: date, **extra: Any) -> Event:
    """One native event of ``account`` on ``day``."""
    found: Event = {"kind": kind, "name": name, "account_id": account, "occurred_at": at(day)}
    found.update(extra)
    return found


UNITS = {
    "lead_gen_dedicated_fte": "FTE",
    "new_contacts_identified": "contacts",
    "targeted_profiles_created": "profiles",
    "social_campaigns_launched": "campaigns",
    "emails_bounced": "emails",
    "cold_calls_made": "calls",
    "legacy_excel_opened": "opens",
    "panel_inspections": "inspections",
}


def activity(
    metric: str,
    title: str,
    category: str,
    target: float,
    direction: str,
    aggregation: str = "sum",
) -> dict[str, Any]:
    """One itinerary activity of a plan, with its unit."""
    return {
        "metric": metric,
        "title": title,
        "unit": UNITS[metric],
        "category": category,
        "target_per_period": target,
        "direction": direction,
        "aggregation": aggregation,
    }
