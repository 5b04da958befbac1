"""A seeded synthetic portfolio with known truth, for the signal tests and ``bench/signals.py``.

Each account has weeks of history ending now: ``account.identified`` with segment and seats,
people with roles, a success plan (one objective, three activities), weekly usage from several
users, activity counts drawn around their targets and a KPI on track to its target. Clean
accounts vary their noise (Poisson at low volume, several users with varying rates, gamma-Poisson
with weekly swings, one holiday week at half usage, a slow trend up or down); the others carry
one injected risk. ``expected`` is the signal type an account must end with (or have raised, for
the final ``objective_achieved``); clean accounts must raise nothing.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

CLEAN_KINDS = (
    "clean_low_volume",
    "clean_users",
    "clean_dispersed",
    "clean_holiday",
    "clean_trend",
)
RISK_KINDS = (
    "sponsor_departure",
    "reorganization",
    "adoption_drop",
    "blocker_reported",
    "no_adoption_owner",
    "activity_off_track",
    "objective_achieved",
    "objective_at_risk",
)
ACTIVITIES = (("new_contacts", 40.0), ("social_campaigns", 12.0), ("calls_logged", 25.0))
KPI = "conversion_rate"


@dataclass
class PortfolioAccount:
    """One account's history as native events, its plan, and what it must end with."""

    account_id: str
    kind: str
    events: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)
    live: list[dict[str, Any]] = field(default_factory=list)

    @property
    def expected(self) -> str | None:
        return None if self.kind.startswith("clean") else self.kind


def _poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (normal approximation above 60, Knuth's method below)."""
    if lam > 60:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _event(
    ids: random.Random, kind: str, name: str, account: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=ids.getrandbits(128), version=4)),
        "kind": kind,
        "name": name,
        "account_id": account,
        "occurred_at": at.isoformat(),
        **extra,
    }


def build_account(
    index: int,
    kind: str,
    rng: random.Random,
    ids: random.Random,
    now: datetime,
    weeks: int,
    scale: float = 1.0,
) -> PortfolioAccount:
    """One account of ``kind`` with ``weeks`` full weeks of history before the current week
    (event ids drawn from ``ids``, a stream of their own)."""
    account = PortfolioAccount(f"acct-{index:04d}-{kind}", kind)
    this_week = datetime.combine(
        (now - timedelta(days=now.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    start = this_week - timedelta(weeks=weeks)
    aid = account.account_id
    at0 = start + timedelta(hours=1)
    events = account.events
    events.append(
        _event(
            ids,
            "lifecycle",
            "account.identified",
            aid,
            at0,
            properties={"name": aid, "segment": rng.choice(["smb", "mid-market"]), "seats": 40},
        )
    )
    people = rng.randint(4, 10)
    roles = ["sponsor", "adoption_owner", "supervisor", *["user"] * (people - 3)]
    for n, role in enumerate(roles):
        events.append(
            _event(
                ids,
                "lifecycle",
                "person.identified",
                aid,
                at0 + timedelta(minutes=n + 1),
                person_id=f"{aid}-p{n}",
                properties={"role": role, "title": role.replace("_", " ").title()},
            )
        )
    account.plan = {
        "objectives": [
            {"metric": KPI, "baseline": 2.0, "target": 3.0, "direction": "up",
             "deadline": (now + timedelta(weeks=30)).date().isoformat(), "aggregation": "last"}
        ],
        "itinerary": [
            {"metric": metric, "category": "process", "target_per_period": target,
             "direction": "increase"}
            for metric, target in ACTIVITIES
        ],
        "sponsor_id": f"{aid}-p0",
        "adoption_owner_id": f"{aid}-p1",
    }  # fmt: skip
    users = [f"{aid}-p{n}" for n in range(3, people)] or [f"{aid}-p2"]
    base = {
        "clean_low_volume": rng.uniform(10, 30),
        "clean_users": rng.uniform(60, 250),
        "clean_dispersed": rng.uniform(40, 300),
    }.get(kind, rng.uniform(40, 300))
    if kind != "clean_low_volume":
        base = max(15.0, base * scale)
    user_weights = [rng.uniform(0.5, 1.5) for _ in users]
    holiday = rng.randrange(weeks) if kind == "clean_holiday" else -1
    growth = rng.uniform(-0.015, 0.015) if kind == "clean_trend" else 0.0
    drop_from = weeks - rng.randint(2, 10) if kind == "adoption_drop" else weeks + 1
    off_from = weeks - rng.randint(4, 6) if kind == "activity_off_track" else weeks + 1
    off_metric, off_factor = rng.choice(ACTIVITIES)[0], rng.uniform(0.4, 0.6)
    # On track: a line from about the baseline that passes the target a few weeks before the
    # deadline (30 weeks ahead), so an honest projection never calls it at risk.
    kpi_start = 2.0 + rng.uniform(-0.1, 0.1)
    kpi_slope = (3.1 - kpi_start) / (weeks + rng.uniform(20, 26))
    for week in range(weeks):
        week_start = start + timedelta(weeks=week)
        swing = rng.gammavariate(25, 1 / 25) if kind == "clean_dispersed" else 1.0
        level = base * swing * (1 + growth) ** week * (0.6 if week >= drop_from else 1.0)
        level *= 0.5 if week == holiday else 1.0
        for user, weight in zip(users, user_weights, strict=True):
            share = level * weight / sum(user_weights)
            for _ in range(_poisson(rng, share)):
                at = week_start + timedelta(hours=rng.uniform(2, 160))
                events.append(
                    _event(ids, "usage", "report.viewed", aid, min(at, now), person_id=user)
                )
        for metric, target in ACTIVITIES:
            factor = off_factor if (week >= off_from and metric == off_metric) else 1.0
            value = _poisson(rng, target * factor)
            events.append(
                _event(ids, "activity", metric, aid, week_start + timedelta(days=2), value=value)
            )
        if kind == "objective_achieved" and week >= weeks - 3:
            kpi = 3.1 + rng.uniform(0, 0.2)
        elif kind == "objective_at_risk":  # stuck near the baseline, far from the target
            kpi = kpi_start + rng.gauss(0, 0.05)
        else:
            kpi = kpi_start + kpi_slope * week + rng.gauss(0, 0.05)
        events.append(
            _event(
                ids, "performance", KPI, aid, week_start + timedelta(days=4), value=round(kpi, 3)
            )
        )
    last_week = start + timedelta(weeks=weeks - 1)
    match kind:
        case "sponsor_departure":
            events.append(
                _event(ids, "lifecycle", "stakeholder.departed", aid, last_week - timedelta(weeks=3),
                       person_id=f"{aid}-p0", properties={"role": "sponsor"})
            )  # fmt: skip
        case "no_adoption_owner":
            events.append(
                _event(ids, "lifecycle", "stakeholder.departed", aid, last_week - timedelta(weeks=2),
                       person_id=f"{aid}-p1", properties={"role": "adoption_owner"})
            )  # fmt: skip
        case "reorganization":
            events.append(
                _event(ids, "lifecycle", "org.reorganized", aid, last_week,
                       properties={"description": "sales and marketing merged"})
            )  # fmt: skip
        case "blocker_reported":
            events.append(
                _event(ids, "lifecycle", "blocker.reported", aid, last_week - timedelta(weeks=1),
                       properties={"blocker_id": f"{aid}-sso", "summary": "SSO not enabled"})
            )  # fmt: skip
    events.sort(key=lambda e: e["occurred_at"])
    return account


def build_portfolio(
    seed: int,
    *,
    clean: int,
    per_risk: int,
    weeks: int = 20,
    scale: float = 1.0,
    now: datetime | None = None,
) -> list[PortfolioAccount]:
    """``clean`` clean accounts (the three noise kinds in turn) and ``per_risk`` of each risk;
    ``scale`` shrinks the usage volume of all but the low-volume accounts (smaller tests)."""
    rng = random.Random(seed)
    # Ids from a stream of their own, named for this generator: another generator given the
    # same seed must not draw the same ids (the ingest would drop its events as duplicates).
    ids = random.Random(f"portfolio:{seed}")
    moment = now or datetime.now(UTC)
    kinds = [CLEAN_KINDS[i % len(CLEAN_KINDS)] for i in range(clean)]
    kinds += [kind for kind in RISK_KINDS for _ in range(per_risk)]
    return [build_account(i, kind, rng, ids, moment, weeks, scale) for i, kind in enumerate(kinds)]


def batches(events: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """``events`` cut into request bodies of at most ``size`` events."""
    for start in range(0, len(events), size):
        yield events[start : start + size]
