"""The generators of the judgement tests and benchmarks can run side by side in one tenant."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.fieldwork import build_fieldwork
from tests.support.portfolio import build_portfolio
from tests.support.scenarios import build_scenarios

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)


def test_generators_given_one_seed_draw_no_event_id_twice() -> None:
    # The ingest drops an event whose id it has seen: a shared id would silently drop history.
    histories = [
        *(a.events for a in build_portfolio(7, clean=5, per_risk=1, now=NOW)),
        *(a.events for a in build_scenarios(7, clean=5, per_risk=1, now=NOW)),
        *(a.events for a in build_fieldwork(7, clean=3, per_risk=1, now=NOW)),
    ]
    ids = [event["id"] for events in histories for event in events]
    assert len(ids) > 10_000
    assert len(set(ids)) == len(ids)
