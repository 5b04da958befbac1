"""Pages from API answers: the portfolio rows and the account's GPS page, charts included.

Pure: each function takes what the services' public APIs answered (parsed JSON) and returns
what a template shows. Charts are Plotly figures (``data`` and ``layout``) with the account's
real values, dates on the x axis and units on the y axis, in the Okabe-Ito palette, which reads
for the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

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
VERDICT_LABELS = {
    "moves_objective": "moves the objective",
    "no_evidence": "no evidence",
    "insufficient_evidence": "insufficient evidence",
}
SIGNAL_CATEGORY = {
    "sponsor_departure": "bad_weather",
    "reorganization": "bad_weather",
    "adoption_drop": "accident_ahead",
    "objective_at_risk": "accident_ahead",
    "no_adoption_owner": "roadblock",
    "blocker_reported": "roadblock",
    "activity_off_track": "reroute",
    "objective_achieved": "arrived",
}
SORTS = ("name", "health", "trend", "signals", "progress", "activity")


def period_date(key: str) -> date:
    """The first day of a period key: ``2026-W36`` (ISO week) or ``2026-09-01`` (day)."""
    year, sep, week = key.partition("-W")
    if sep:
        return date.fromisocalendar(int(year), int(week), 1)
    return date.fromisoformat(key)


def _axis_date(key: str) -> str:
    return period_date(key).isoformat()


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1 else f"{value:.3g}"


# --- the portfolio ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioRow:
    """One account in the portfolio."""

    account_id: str
    name: str
    segment: str | None
    health: float | None
    trend: tuple[float, ...]
    open_by_category: Mapping[str, int]
    objective_progress: float | None
    last_activity: datetime | None

    @property
    def delta(self) -> float | None:
        """How the health moved over the trend shown (None with fewer than two points)."""
        return self.trend[-1] - self.trend[0] if len(self.trend) > 1 else None

    @property
    def open_signals(self) -> int:
        return sum(self.open_by_category.values())

    @property
    def sparkline(self) -> str:
        """An SVG polyline's points for the trend, in a 100 x 24 box (0-100 health)."""
        if len(self.trend) < 2:
            return ""
        step = 100 / (len(self.trend) - 1)
        return " ".join(
            f"{i * step:.1f},{24 - 24 * score / 100:.1f}" for i, score in enumerate(self.trend)
        )


def portfolio_row(
    account: Mapping[str, Any], detail: Mapping[str, Any], health: Mapping[str, Any] | None,
    history: Mapping[str, Any] | None,
) -> PortfolioRow:  # fmt: skip
    """A row from the account list's entry, the account's detail, its health and its trend."""
    progress = None
    if health is not None:
        for component in health.get("components", []):
            if component["name"] == "objective_progress":
                progress = component["score"]
    watermark = detail.get("watermark")
    return PortfolioRow(
        account_id=str(account["account_id"]),
        name=str(account.get("name") or account["account_id"]),
        segment=account.get("segment"),
        health=account.get("health_score"),
        trend=tuple(p["score"] for p in (history or {}).get("periods", [])),
        open_by_category=dict(detail.get("open_by_category", {})),
        objective_progress=progress,
        last_activity=datetime.fromisoformat(watermark) if watermark else None,
    )


def arrange(
    rows: Iterable[PortfolioRow],
    *,
    sort: str = "health",
    descending: bool = False,
    query: str = "",
    category: str = "",
) -> list[PortfolioRow]:
    """Rows filtered by a text in the name, id or segment and by an open signal category, then
    sorted (unknown values last whatever the order)."""
    text = query.strip().lower()
    chosen = [
        row
        for row in rows
        if (not text or text in f"{row.name} {row.account_id} {row.segment or ''}".lower())
        and (not category or row.open_by_category.get(category))
    ]
    keys: dict[str, Any] = {
        "name": lambda r: r.name.lower(),
        "health": lambda r: r.health,
        "trend": lambda r: r.delta,
        "signals": lambda r: r.open_signals,
        "progress": lambda r: r.objective_progress,
        "activity": lambda r: r.last_activity,
    }
    key = keys[sort if sort in keys else "health"]
    known = [row for row in chosen if key(row) is not None]
    unknown = [row for row in chosen if key(row) is None]
    return sorted(known, key=key, reverse=descending) + unknown


# --- the account's GPS page ------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A Plotly figure and what a screen reader says about it."""

    id: str
    title: str
    summary: str
    figure: dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    activity: str
    objective: str
    verdict: str
    label: str
    lag: int | None
    effect: float | None
    ci: str
    q_value: float | None
    reason: str | None


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    title: str | None
    role: str | None
    plan_role: str | None
    status: str
    supervisor: str | None


@dataclass(frozen=True)
class SignalEntry:
    id: str
    type: str
    label: str
    category: str
    category_label: str
    state: str
    subject: str
    as_of: str | None
    raised_at: str
    resolved_at: str | None
    catching_up: bool


@dataclass(frozen=True)
class ValueItem:
    text: str
    kind: str
    formula: str
    source_title: str
    source_url: str | None
    source_edition: str | None
    assumptions: str


@dataclass
class AccountPage:
    """Everything the account's GPS page shows."""

    account_id: str
    name: str
    segment: str | None
    seats: int | None
    health: float | None
    judged_through: str | None
    charts: list[Chart] = field(default_factory=list)
    activity_tables: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    signals: list[SignalEntry] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    value_action: list[ValueItem] = field(default_factory=list)
    value_feel_good: list[ValueItem] = field(default_factory=list)
    value_period: str | None = None
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    has_plan: bool = False


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
            "name": f"target ({_number(target)})",
            "x": x,
            "y": [target] * len(x),
            "line": {"color": "#1a1a1a", "dash": "dash", "width": 2},
        },
    ]
    missed = on.count(False)
    summary = (
        f"{title}: {len(periods)} periods, {missed} below the target of {_number(target)}; "
        f"latest {_number(periods[-1]['actual']) if periods else 'none'}."
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
            "name": f"target ({_number(target)})",
            "x": [x[0] if x else deadline, deadline],
            "y": [target, target],
            "line": {"color": GREEN, "dash": "dot", "width": 2},
        },
    ]
    projection = objective.get("projection")
    summary = f"{title}: {len(periods)} values, target {_number(target)} by {deadline}."
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
            f" Projected {_number(projection['projected_value'])} at the deadline "
            f"({level}% interval {_number(low)} to {_number(high)})."
        )
    return Chart(f"objective-{objective['metric']}", title, summary, {
        "data": data, "layout": _layout(f"{title}: path and projection", f"{title} ({unit})"
                                        if unit else title, x_title="Date"),
    })  # fmt: skip


def timeline_chart(signals: Sequence[SignalEntry]) -> Chart:
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
    layout = _layout(f"Health {_number(score)} / 100: what adds up to it", "")
    layout["xaxis"] = {"title": {"text": "points of the score"}, "rangemode": "tozero"}
    layout["yaxis"] = {"automargin": True}
    summary = "; ".join(
        f"{n}: {c['contribution']:.1f} points" for n, c in zip(names, components, strict=True)
    )
    return Chart("health", "Health", summary, {"data": data, "layout": layout})


def _unit_of(activity: Mapping[str, Any]) -> str:
    """The activity's unit per period: ``contacts per week``, or its aggregation's name."""
    per = {"sum": "per week", "count": "per week", "mean": "weekly mean", "max": "weekly max",
           "min": "weekly min", "last": "latest"}.get(str(activity["aggregation"]), "")  # fmt: skip
    unit = activity.get("unit")
    return f"{unit} {per}".strip() if unit else per


def _person(row: Mapping[str, Any], names: Mapping[str, str]) -> Person:
    supervisor = row.get("supervisor_id")
    return Person(
        person_id=str(row["person_id"]),
        name=str(row.get("name") or row["person_id"]),
        title=row.get("title"),
        role=row.get("stakeholder_role") or row.get("role"),
        plan_role=row.get("plan_role"),
        status=str(row.get("status", "active")),
        supervisor=names.get(supervisor, supervisor) if supervisor else None,
    )


def _signal(row: Mapping[str, Any]) -> SignalEntry:
    category = SIGNAL_CATEGORY.get(str(row["type"]), "next_step")
    evidence = row.get("evidence") or {}
    label = str(row["type"]).replace("_", " ")
    readable = evidence.get("title") or evidence.get("activity")
    if readable:
        label = f"{label}: {readable}"
    resolution = row.get("resolution") or {}
    return SignalEntry(
        id=str(row["id"]),
        type=str(row["type"]),
        label=label,
        category=category,
        category_label=CATEGORY_LABELS[category],
        state=str(row["state"]),
        subject=str(row["subject"]),
        as_of=evidence.get("as_of"),
        raised_at=str(row["raised_at"]),
        # When it cleared in event time (the successor's arrival), else when it was seen.
        resolved_at=resolution.get("as_of") or row.get("resolved_at"),
        catching_up=bool(evidence.get("catching_up")),
    )


def _value(item: Mapping[str, Any]) -> ValueItem:
    source = item.get("source") or {}
    return ValueItem(
        text=str(item["text"]),
        kind=str(item["kind"]),
        formula=str(item.get("formula", "")),
        source_title=str(source.get("title", "")),
        source_url=source.get("url"),
        source_edition=source.get("edition"),
        assumptions=str(item.get("assumptions", "")),
    )


def account_page(
    detail: Mapping[str, Any],
    *,
    ampm: Mapping[str, Any] | None,
    health: Mapping[str, Any] | None,
    people: Sequence[Mapping[str, Any]],
    signals: Sequence[Mapping[str, Any]],
    value: Mapping[str, Any] | None,
    recommendations: Sequence[Mapping[str, Any]],
) -> AccountPage:
    """The GPS page of one account from its API answers (``ampm`` None: no plan)."""
    page = AccountPage(
        account_id=str(detail["account_id"]),
        name=str(detail.get("name") or detail["account_id"]),
        segment=detail.get("segment"),
        seats=detail.get("seats"),
        health=(detail.get("health") or {}).get("score"),
        judged_through=detail.get("judged_through"),
        has_plan=ampm is not None,
    )
    if ampm is not None:
        for objective in ampm["objectives"]:
            page.charts.append(objective_chart(objective, str(objective.get("unit") or "")))
        for activity in ampm["activities"]:
            page.charts.append(activity_chart(activity, _unit_of(activity)))
            page.activity_tables.append(
                {
                    "title": activity.get("title") or activity["metric"],
                    "target": _number(activity["target_per_period"]),
                    "direction": activity["direction"],
                    "periods": [
                        {"period": p["period"], "actual": _number(p["actual"]),
                         "on_target": p["on_target"]}
                        for p in activity["periods"][-8:]
                    ],
                }
            )  # fmt: skip
        titles = {a["metric"]: a.get("title") or a["metric"] for a in ampm["activities"]}
        titles |= {o["metric"]: o.get("title") or o["metric"] for o in ampm["objectives"]}
        for verdict in ampm["verdicts"]:
            ci = (
                f"{_number(verdict['ci_low'])} to {_number(verdict['ci_high'])}"
                if verdict.get("ci_low") is not None
                else "—"
            )
            page.verdicts.append(
                Verdict(
                    activity=titles.get(verdict["activity"], verdict["activity"]),
                    objective=titles.get(verdict["objective"], verdict["objective"]),
                    verdict=verdict["verdict"],
                    label=VERDICT_LABELS.get(verdict["verdict"], verdict["verdict"]),
                    lag=verdict.get("lag"),
                    effect=verdict.get("effect"),
                    ci=ci,
                    q_value=verdict.get("q_value"),
                    reason=(verdict.get("reason") or "").replace("_", " ") or None,
                )
            )
    names = {str(p["person_id"]): str(p.get("name") or p["person_id"]) for p in people}
    page.people = [_person(p, names) for p in people]
    page.signals = sorted(
        (_signal(s) for s in signals), key=lambda s: s.as_of or s.raised_at, reverse=True
    )
    if page.signals:
        page.charts.append(timeline_chart(page.signals))
    if health is not None:
        page.components = [dict(c) for c in health.get("components", [])]
        page.charts.append(health_chart(page.components, health.get("score")))
    if value is not None:
        page.value_action = [_value(v) for v in value.get("action", [])]
        page.value_feel_good = [_value(v) for v in value.get("feel_good", [])]
        page.value_period = f"{value.get('from')} to {value.get('to')}"
    page.recommendations = [dict(r) for r in list(recommendations)[-5:]][::-1]
    return page


def value_since(today: date, *, days: int = 365) -> date:
    """Where the value delivered is counted from: a year back by default."""
    return today - timedelta(days=days)
