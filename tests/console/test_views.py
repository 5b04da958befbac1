"""Pages from API answers (pure): portfolio rows sorted and filtered, charts holding the
account's own values with dates and units, signals in event time."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.console import charts, views


def _row(account_id: str, health: float | None, trend: list[float], **categories: int) -> Any:
    return views.portfolio_row(
        {"account_id": account_id, "name": account_id.title(), "health_score": health},
        {"open_by_category": categories, "watermark": "2026-11-27T10:00:00Z"},
        {"components": [{"name": "objective_progress", "score": 0.5}]},
        {"periods": [{"period": f"2026-W{40 + i}", "score": s} for i, s in enumerate(trend)]},
    )


def test_portfolio_rows_sort_with_unknown_values_last_and_filter_by_text_and_category() -> None:
    rows = [
        _row("northwind", 97, [55, 97]),
        _row("acme", 73, [50, 73], bad_weather=1),
        _row("globex", None, []),
    ]
    assert [r.account_id for r in views.arrange(rows, sort="health")] == [
        "acme",
        "northwind",
        "globex",
    ]
    by_trend = views.arrange(rows, sort="trend", descending=True)
    assert [r.account_id for r in by_trend] == ["northwind", "acme", "globex"]
    assert [r.account_id for r in views.arrange(rows, query="NORTH")] == ["northwind"]
    assert [r.account_id for r in views.arrange(rows, category="bad_weather")] == ["acme"]
    assert rows[0].delta == 42 and rows[2].delta is None
    assert rows[0].sparkline.startswith("0.0,") and rows[2].sparkline == ""


def test_an_activity_chart_plots_each_known_period_against_its_target() -> None:
    activity = {
        "metric": "contacts",
        "title": "New contacts",
        "unit": "contacts",
        "aggregation": "sum",
        "target_per_period": 25,
        "periods": [
            {"period": "2026-W44", "actual": 30.0, "target": 25, "on_target": True},
            {"period": "2026-W45", "actual": 12.0, "target": 25, "on_target": False},
            {"period": "2026-W46", "actual": None, "target": 25, "on_target": None},
        ],
    }
    chart = charts.activity_chart(activity, views._unit_of(activity))
    bars, target = chart.figure["data"]
    assert bars["x"] == ["2026-10-26", "2026-11-02"]  # Monday of each ISO week
    assert bars["y"] == [30.0, 12.0]
    assert bars["marker"]["color"] == [charts.BLUE, charts.ORANGE]
    assert target["y"] == [25.0, 25.0]
    assert chart.figure["layout"]["yaxis"]["title"]["text"] == "New contacts (contacts per week)"
    assert "1 below the target of 25" in chart.summary


def test_an_objective_chart_draws_the_projection_and_its_interval_to_the_deadline() -> None:
    objective = {
        "metric": "rate",
        "title": "Conversion",
        "unit": "%",
        "target": 3.2,
        "deadline": "2026-12-31",
        "periods": [{"period": "2026-W44", "actual": 2.4}, {"period": "2026-W45", "actual": 2.5}],
        "projection": {
            "latest_period": "2026-W45",
            "deadline_period": "2026-W53",
            "fitted_latest_value": 2.5,
            "projected_value": 3.3,
            "interval_low": 2.9,
            "interval_high": 3.7,
            "interval_confidence": 0.98,
        },
    }
    chart = charts.objective_chart(objective, "%")
    actual, target, band, line = chart.figure["data"]
    assert actual["y"] == [2.4, 2.5]
    assert target["y"] == [3.2, 3.2]
    assert band["name"] == "98% prediction interval"
    assert band["y"] == [2.5, 3.7, 2.9, 2.5]
    assert line["x"] == ["2026-11-02", "2026-12-28"]
    assert "98% interval 2.9 to 3.7" in chart.summary


def test_signals_are_placed_in_event_time_and_a_cleared_one_when_it_cleared() -> None:
    signal = {
        "id": "s1",
        "type": "sponsor_departure",
        "state": "resolved",
        "subject": "acme",
        "evidence": {"as_of": "2026-10-14T10:00:00Z", "catching_up": True},
        "resolution": {"as_of": "2026-10-28T10:00:00Z"},
        "raised_at": "2026-12-03T09:00:00Z",
        "resolved_at": "2026-12-03T09:00:01Z",
    }
    page = views.account_page(
        {"account_id": "acme", "name": "Acme"},
        ampm=None,
        health=None,
        people=[],
        signals=[signal],
        value=None,
        recommendations=[],
    )
    (entry,) = page.signals
    assert (entry.as_of, entry.resolved_at) == ("2026-10-14T10:00:00Z", "2026-10-28T10:00:00Z")
    assert entry.category == "bad_weather" and entry.catching_up
    (timeline,) = page.charts
    assert timeline.figure["data"][0]["x"] == ["2026-10-14T10:00:00Z", "2026-10-28T10:00:00Z"]


def test_iso_weeks_and_days_read_as_their_first_day() -> None:
    assert charts.period_date("2026-W01") == date(2025, 12, 29)
    assert charts.period_date("2026-03-04") == date(2026, 3, 4)
