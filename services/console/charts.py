"""The GPS page's charts: Plotly figures (``data`` and ``layout``) with the account's real values,
dates on the x axis and units on the y axis, in the Okabe-Ito palette, which reads for the
common colour-vision deficiencies. Each comes with the sentence a screen reader says about it.
Pure: each takes what the services' public APIs answered (parsed JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

# Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
BLUE, ORANGE, GREEN, VERMILION, SKY, PURPLE, GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#555555",
)


CATEGORY_LABELS = {
    "bad_weather": "Bad weather",
    "accident_ahead": "Accident ahead",
    "roadblock": "Roadblock",
    "reroute": "Rerouting",
    "arrived": "You have arrived",
    "next_step": "Next junction",
}


CATEGORY_COLOURS = {
    "bad_weather": PURPLE,
    "accident_ahead": VERMILION,
    "roadblock": ORANGE,
    "reroute": SKY,
    "arrived": GREEN,
    "next_step": BLUE,
}


def period_date(key: str) -> date:
    """The first day of a period key: ``2026-W36`` (ISO week) or ``2026-09-01`` (day)."""
    year, sep, week = key.partition("-W")
    if sep:
        return date.fromisocalendar(int(year), int(week), 1)
    return date.fromisoformat(key)


def _axis_date(key: str) -> str:
    return period_date(key).isoformat()


def number(value: float | None) -> str:
    """A figure as the page shows it: thousands separated, a dash when unknown."""
    if value is None or not math.isfinite(value):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1 else f"{value:.3g}"


@dataclass(frozen=True)
class Chart:
    """A Plotly figure and what a screen reader says about it."""

    id: str
    title: str
    summary: str
    figure: dict[str, Any]


def _layout(title: str, y_title: str, *, x_title: str = "Week starting") -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}},
        "xaxis": {"title": {"text": x_title}, "type": "date", "tickformat": "%d %b %Y"},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.25},
        "hovermode": "closest",
        "font": {"family": "system-ui, sans-serif", "color": "#1a1a1a"},
    }


def activity_chart(activity: Mapping[str, Any], unit: str) -> Chart:
    """The activity's actual per period as bars (on target / missed) and its target line."""
    periods = [p for p in activity["periods"] if p["actual"] is not None]
    x = [_axis_date(p["period"]) for p in periods]
    title = str(activity.get("title") or activity["metric"])
    target = float(activity["target_per_period"])
    y_title = f"{title} ({unit})" if unit else title
    on = [bool(p["on_target"]) for p in periods]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": "actual",
            "x": x,
            "y": [p["actual"] for p in periods],
            "marker": {"color": [BLUE if hit else ORANGE for hit in on]},
            "hovertemplate": "%{x|%d %b %Y}: %{y}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"target ({number(target)})",
            "x": x,
            "y": [target] * len(x),
            "line": {"color": "#1a1a1a", "dash": "dash", "width": 2},
        },
    ]
    missed = on.count(False)
    summary = (
        f"{title}: {len(periods)} periods, {missed} below the target of {number(target)}; "
        f"latest {number(periods[-1]['actual']) if periods else 'none'}."
    )
    return Chart(f"activity-{activity['metric']}", title, summary, {
        "data": data, "layout": _layout(f"{title} against its target", y_title),
    })  # fmt: skip


def objective_chart(objective: Mapping[str, Any], unit: str) -> Chart:
    """The objective's values, its target, and its projection to the deadline with the
    prediction interval there (a cone from the latest period)."""
    periods = [p for p in objective["periods"] if p["actual"] is not None]
    title = str(objective.get("title") or objective["metric"])
    x = [_axis_date(p["period"]) for p in periods]
    target = float(objective["target"])
    deadline = objective["deadline"]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "actual",
            "x": x,
            "y": [p["actual"] for p in periods],
            "line": {"color": BLUE, "width": 2},
            "hovertemplate": "%{x|%d %b %Y}: %{y}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"target ({number(target)})",
            "x": [x[0] if x else deadline, deadline],
            "y": [target, target],
            "line": {"color": GREEN, "dash": "dot", "width": 2},
        },
    ]
    projection = objective.get("projection")
    summary = f"{title}: {len(periods)} values, target {number(target)} by {deadline}."
    if projection is not None:
        start = _axis_date(projection["latest_period"])
        end = _axis_date(projection["deadline_period"])
        low, high = projection["interval_low"], projection["interval_high"]
        level = round(100 * projection["interval_confidence"])
        data += [
            {
                "type": "scatter",
                "mode": "lines",
                "fill": "toself",
                "name": f"{level}% prediction interval",
                "x": [start, end, end, start],
                "y": [projection["fitted_latest_value"], high, low, projection["fitted_latest_value"]],
                "line": {"width": 0},
                "fillcolor": "rgba(230, 159, 0, 0.25)",
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "projection",
                "x": [start, end],
                "y": [projection["fitted_latest_value"], projection["projected_value"]],
                "line": {"color": ORANGE, "dash": "dash", "width": 2},
            },
        ]  # fmt: skip
        summary += (
            f" Projected {number(projection['projected_value'])} at the deadline "
            f"({level}% interval {number(low)} to {number(high)})."
        )
    return Chart(f"objective-{objective['metric']}", title, summary, {
        "data": data, "layout": _layout(f"{title}: path and projection", f"{title} ({unit})"
                                        if unit else title, x_title="Date"),
    })  # fmt: skip


class TimelineSignal(Protocol):
    """What the timeline reads of a signal."""

    @property
    def category(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def as_of(self) -> str | None: ...
    @property
    def raised_at(self) -> str: ...
    @property
    def resolved_at(self) -> str | None: ...


def timeline_chart(signals: Sequence[TimelineSignal]) -> Chart:
    """Each signal on a date axis, raised (filled) and resolved (hollow), by GPS category."""
    data: list[dict[str, Any]] = []
    for category, label in CATEGORY_LABELS.items():
        mine = [s for s in signals if s.category == category]
        if not mine:
            continue
        points = [(s.as_of or s.raised_at, s.label, "circle") for s in mine]
        points += [
            (s.resolved_at, f"{s.label} (cleared)", "circle-open") for s in mine if s.resolved_at
        ]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "x": [p[0] for p in points],
                "y": [label] * len(points),
                "text": [p[1] for p in points],
                "marker": {"size": 13, "color": CATEGORY_COLOURS[category],
                           "symbol": [p[2] for p in points]},
                "hovertemplate": "%{x|%d %b %Y}: %{text}<extra></extra>",
            }
        )  # fmt: skip
    layout = _layout("Signals in event time", "", x_title="Date")
    layout["yaxis"] = {"type": "category", "automargin": True}
    summary = f"{len(signals)} signals, {sum(s.state == 'open' for s in signals)} open."
    return Chart("timeline", "Signals", summary, {"data": data, "layout": layout})


def health_chart(components: Sequence[Mapping[str, Any]], score: float | None) -> Chart:
    """What each health component adds to the score, in points."""
    names = [c["name"].replace("_", " ") for c in components]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [c["contribution"] for c in components],
            "y": names,
            "marker": {"color": [GREY if c["score"] is None else BLUE for c in components]},
            "text": [
                "unknown" if c["score"] is None else f"{100 * c['score']:.0f}% x {c['weight']}"
                for c in components
            ],
            "hovertemplate": "%{y}: %{x:.1f} points (%{text})<extra></extra>",
        }
    ]
    layout = _layout(f"Health {number(score)} / 100: what adds up to it", "")
    layout["xaxis"] = {"title": {"text": "points of the score"}, "rangemode": "tozero"}
    layout["yaxis"] = {"automargin": True}
    summary = "; ".join(
        f"{n}: {c['contribution']:.1f} points" for n, c in zip(names, components, strict=True)
    )
    return Chart("health", "Health", summary, {"data": data, "layout": layout})
