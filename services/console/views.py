"""Pages from API answers: the portfolio rows and the account's GPS page, charts included.

Pure: each function takes what the services' public APIs answered (parsed JSON) and returns
what a template shows; the charts are drawn by ``charts``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.console.charts import (
    CATEGORY_LABELS,
    Chart,
    activity_chart,
    health_chart,
    number,
    objective_chart,
    timeline_chart,
)

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
                    "target": number(activity["target_per_period"]),
                    "direction": activity["direction"],
                    "periods": [
                        {"period": p["period"], "actual": number(p["actual"]),
                         "on_target": p["on_target"]}
                        for p in activity["periods"][-8:]
                    ],
                }
            )  # fmt: skip
        titles = {a["metric"]: a.get("title") or a["metric"] for a in ampm["activities"]}
        titles |= {o["metric"]: o.get("title") or o["metric"] for o in ampm["objectives"]}
        for verdict in ampm["verdicts"]:
            ci = (
                f"{number(verdict['ci_low'])} to {number(verdict['ci_high'])}"
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
