"""The generators of the judgement tests and benchmarks run side by side in one tenant, and
their truth is what their data show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.fieldwork import build_fieldwork
from tests.support.portfolio import build_portfolio
from tests.support.scenarios import build_scenarios
from tests.support.teams import build_teams

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)


def test_generators_given_one_seed_draw_no_event_id_twice() -> None:
    # The ingest drops an event whose id it has seen: a shared id would silently drop history.
    histories = [
        *(a.events for a in build_portfolio(7, clean=5, per_risk=1, now=NOW)),
        *(a.events for a in build_scenarios(7, clean=5, per_risk=1, now=NOW)),
        *(a.events for a in build_fieldwork(7, clean=3, per_risk=1, now=NOW)),
        *(a.events for a in build_teams(7, clean=3, per_risk=1, now=NOW)),
    ]
    ids = [event["id"] for events in histories for event in events]
    assert len(ids) > 10_000
    assert len(set(ids)) == len(ids)


def test_a_teams_drop_takes_forty_percent_of_usage_whether_users_leave_or_use_less() -> None:
    ratios: dict[str, list[float]] = {"less use": [], "users left": []}
    for account in build_teams(3, clean=0, per_risk=25, now=NOW):
        if account.kind != "adoption_drop":
            continue
        weeks: dict[str, int] = {}
        for event in account.events:
            if event["kind"] == "usage":
                week = datetime.fromisoformat(event["occurred_at"]).strftime("%G-W%V")
                weeks[week] = weeks.get(week, 0) + 1
        counts = [weeks[week] for week in sorted(weeks)]
        age = account.truth["weeks_ago"]
        before, after = counts[:-age], counts[-age:]
        ratios[account.truth["how"]].append((sum(after) / age) / (sum(before) / len(before)))
    for how, found in ratios.items():
        assert len(found) >= 10, how
        assert sum(found) / len(found) == pytest.approx(0.6, abs=0.05), how
