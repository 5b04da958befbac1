"""The B2B example: Northwind Leads wants lead conversion from 2.2% to 3.2% by the end of Q4.

Twelve weeks of events end at the last complete week. ``new_contacts_identified`` leads the
conversion rate by two weeks (rate[t] = 2.2 + 0.02 * (contacts[t - 2] - 20)).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from services.correlation.buckets import last_complete_period, period_start, shift_period
from shared.events import Envelope, EventKind
from tests.correlation.support import envelope

ACCOUNT = "northwind-leads"
KPI = "lead_conversion_rate"
LEADING = "new_contacts_identified"
LEAD_WEEKS = 2
CONTACTS = [20, 42, 25, 31, 55, 28, 47, 60, 33, 52, 39, 65]


def conversion_rate(week: int) -> float:
    """The KPI of week ``week`` (0..11), driven by contacts two weeks before."""
    if week < LEAD_WEEKS:
        return 2.2
    return round(2.2 + 0.02 * (CONTACTS[week - LEAD_WEEKS] - 20), 4)


def plan_body(deadline: date) -> dict[str, Any]:
    """The success plan with its objective and the seven committed activities."""
    return {
        "objectives": [
            {
                "metric": KPI,
                "title": "Lead conversion rate from 2.2% to 3.2% by end of Q4",
                "baseline": 2.2,
                "target": 3.2,
                "direction": "up",
                "deadline": deadline.isoformat(),
                "aggregation": "last",
            }
        ],
        "itinerary": [
            {
                "metric": "lead_gen_fte",
                "title": "A dedicated person full time on lead generation",
                "category": "organisation",
                "target_per_period": 1,
                "direction": "increase",
                "aggregation": "max",
            },
            {
                "metric": LEADING,
                "title": "+25% newly identified contacts per week",
                "category": "process",
                "target_per_period": 25,
                "direction": "increase",
            },
            {
                "metric": "targeted_profiles",
                "title": "+15% targeted profiles",
                "category": "tool",
                "target_per_period": 23,
                "direction": "increase",
            },
            {
                "metric": "social_campaigns",
                "title": "+20% social campaigns per month",
                "category": "routine",
                "target_per_period": 2,
                "direction": "increase",
            },
            {
                "metric": "bounced_emails",
                "title": "Fewer bounced emails",
                "category": "process",
                "target_per_period": 10,
                "direction": "decrease",
            },
            {
                "metric": "cold_calls",
                "title": "Stop cold calling",
                "category": "behaviour",
                "target_per_period": 0,
                "direction": "stop",
            },
            {
                "metric": "legacy_excel_opened",
                "title": "Stop using the legacy shared Excel file",
                "category": "tool",
                "target_per_period": 0,
                "direction": "stop",
            },
        ],
        "adoption_owner_id": "nw-owner",
        "sponsor_id": "nw-sponsor",
    }


def weeks(now: datetime) -> list[str]:
    """The twelve complete weeks ending last week."""
    last = last_complete_period(now)
    return [shift_period(last, i - 11) for i in range(12)]


def events(tenant_id: str, now: datetime, account_id: str = ACCOUNT) -> list[Envelope]:
    """Twelve weeks of activity and KPI events."""
    generated: list[Envelope] = []
    for week, key in enumerate(weeks(now)):
        tuesday = period_start(key) + timedelta(days=1, hours=10)
        half = CONTACTS[week] / 2
        # (name, value, kind, hours after Tuesday 10:00)
        specs: list[tuple[str, float, EventKind, int]] = [
            ("lead_gen_fte", 1, EventKind.ACTIVITY, 0),
            (LEADING, half, EventKind.ACTIVITY, 0),
            (LEADING, half, EventKind.ACTIVITY, 24),
            ("targeted_profiles", 18 + week, EventKind.ACTIVITY, 0),
            ("social_campaigns", 1 + week % 3, EventKind.ACTIVITY, 0),
            ("bounced_emails", max(4, 20 - week), EventKind.ACTIVITY, 0),
            ("cold_calls", max(0, 6 - week), EventKind.ACTIVITY, 0),
            ("legacy_excel_opened", max(0, 5 - week // 2), EventKind.ACTIVITY, 0),
            (KPI, conversion_rate(week), EventKind.PERFORMANCE, 48),
            *(("report.viewed", 1, EventKind.USAGE, day * 24) for day in range(3)),
        ]
        generated.extend(
            envelope(
                tenant_id,
                name,
                tuesday + timedelta(hours=hours),
                kind=kind,
                account_id=account_id,
                value=value,
            )
            for name, value, kind, hours in specs
        )
    return generated
