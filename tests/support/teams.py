"""A fourth seeded generator with known truth: teams of named users, and a plan whose
activities arrive as several fractional reports a week. Built apart from ``portfolio.py``,
``scenarios.py`` and ``fieldwork.py`` (numpy draws of its own, its own noise) so that the period
rules are judged on data none of them was shaped on.

People: a sponsor and an adoption owner, both named in the plan, and the users.
Usage: three to eight users, each with a rate of 5-40 events a week and a log-normal weekly
swing of 5-25% of their own (``team``), or one user at 10-30 Poisson events a week
(``low_volume``). A drop takes 40% of usage, from 1-10 weeks before the end: either every user
uses the product less, or users stop one by one until about that share is gone (the rest then
scaled to it). Activities: three to five, targets of 5-50 a week, each week's level within 15%
of the target (normal), reported as one to four events whose values (one decimal) sum to it;
a shortfall holds one activity at half its target for the last 3-8 weeks. The KPI rises on a
line that reaches its target just before the deadline, 26 weeks ahead; it is flat for an
objective at risk, and above the target for the last three weeks for one achieved.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tests.support.generated import GeneratedAccount

CLEAN_MODELS = ("team", "low_volume")
RISKS = ("adoption_drop", "activity_off_track", "objective_achieved", "objective_at_risk")
DROP = 0.4
KPI = "nps"


def _weekly_rates(
    rng: np.random.Generator, model: str, weeks: int, drop_age: int
) -> tuple[np.ndarray, str]:
    """Each user's expected events per week (weeks x users), and how a drop came about."""
    if model == "low_volume":
        rates = np.full((weeks, 1), rng.uniform(10, 30))
    else:
        base = rng.uniform(5, 40, int(rng.integers(3, 9)))
        swing = rng.normal(0, rng.uniform(0.05, 0.25), (weeks, base.size))
        rates = base * np.exp(swing)
    if not drop_age:
        return rates, ""
    dropped = rates[weeks - drop_age :]
    if rates.shape[1] < 3 or rng.random() < 0.5:
        dropped *= 1 - DROP
        return rates, "less use"
    # Users stop one by one while at most half the usage has gone; those who stay are scaled
    # so that the account keeps 60% of what it had.
    before = rates[: weeks - drop_age].mean(axis=0)
    stay = np.ones(before.size, dtype=bool)
    for user in rng.permutation(before.size)[:-1]:
        if before[~stay].sum() + before[user] > (DROP + 0.1) * before.sum():
            break
        stay[user] = False
    dropped[:, ~stay] = 0.0
    dropped[:, stay] *= (1 - DROP) * before.sum() / before[stay].sum()
    return rates, "users left"


def build_account(
    index: int, kind: str, rng: np.random.Generator, now: datetime, weeks: int = 20
) -> GeneratedAccount:
    """One account of ``kind`` (``clean`` or a period risk) with ``weeks`` full weeks of history
    before the current week."""
    model = str(rng.choice(CLEAN_MODELS)) if kind == "clean" else "team"
    aid = f"tm-{index:04d}-{kind.replace('_', '-')}"
    account = GeneratedAccount(aid, kind, model, plan_first=bool(rng.random() < 0.5))
    monday = datetime.combine(
        (now - timedelta(days=now.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    start = monday - timedelta(weeks=weeks)

    def add(event_kind: str, name: str, at: datetime, **extra: Any) -> None:
        event_id = uuid.UUID(bytes=rng.bytes(16), version=4)
        account.events.append({"id": str(event_id), "kind": event_kind, "name": name,
                               "account_id": aid, "occurred_at": at.isoformat(), **extra})  # fmt: skip

    add("lifecycle", "account.identified", start + timedelta(hours=1),
        properties={"name": f"Team {index}", "seats": int(rng.integers(10, 80))})  # fmt: skip
    drop_age = int(rng.integers(1, 11)) if kind == "adoption_drop" else 0
    rates, how = _weekly_rates(rng, model, weeks, drop_age)
    roles = ["sponsor", "adoption_owner"] + ["user"] * rates.shape[1]
    people = [f"{aid}-sponsor", f"{aid}-owner"] + [f"{aid}-u{n}" for n in range(rates.shape[1])]
    for n, (person, role) in enumerate(zip(people, roles, strict=True)):
        add("lifecycle", "person.identified", start + timedelta(hours=1, minutes=n + 1),
            person_id=person, properties={"role": role})  # fmt: skip
    targets = [float(round(rng.uniform(5, 50))) for _ in range(int(rng.integers(3, 6)))]
    short = int(rng.integers(len(targets))) if kind == "activity_off_track" else -1
    short_weeks = int(rng.integers(3, 9))
    kpi_start = 20 + rng.normal(0, 1)
    slope = (40.5 - kpi_start) / (weeks + 26 - rng.uniform(1, 4))
    for week in range(weeks):
        week_start = start + timedelta(weeks=week)
        for user, rate in enumerate(rates[week]):
            for hour in rng.uniform(1, 167, int(rng.poisson(rate))):
                add("usage", "feature.used", week_start + timedelta(hours=float(hour)),
                    person_id=f"{aid}-u{user}")  # fmt: skip
        for n, target in enumerate(targets):
            factor = 0.5 if n == short and week >= weeks - short_weeks else 1.0
            level = max(0.0, target * factor * (1 + rng.normal(0, 0.15)))
            for part in rng.dirichlet(np.ones(int(rng.integers(1, 5)))) * level:
                add("activity", f"step_{n}", week_start + timedelta(hours=float(rng.uniform(1, 160))),
                    value=round(float(part), 1))  # fmt: skip
        if kind == "objective_achieved" and week >= weeks - 3:
            kpi = 41 + rng.uniform(0, 2)
        elif kind == "objective_at_risk":
            kpi = kpi_start + rng.normal(0, 0.8)
        else:
            kpi = kpi_start + slope * week + rng.normal(0, 0.8)
        add("performance", KPI, week_start + timedelta(days=4), value=round(float(kpi), 2))
    account.events.sort(key=lambda e: e["occurred_at"])
    account.plan = {
        "objectives": [{"metric": KPI, "baseline": 20.0, "target": 40.0, "direction": "up",
                        "deadline": (now + timedelta(weeks=26)).date().isoformat(),
                        "aggregation": "last"}],
        "itinerary": [{"metric": f"step_{n}", "category": "process", "target_per_period": t,
                       "direction": "increase"} for n, t in enumerate(targets)],
        "sponsor_id": f"{aid}-sponsor",
        "adoption_owner_id": f"{aid}-owner",
    }  # fmt: skip
    if drop_age:
        account.truth = {"weeks_ago": drop_age, "how": how}
    if short >= 0:
        account.truth = {"metric": f"step_{short}", "weeks": short_weeks, "target": targets[short]}
    return account


def build_teams(
    seed: int, *, clean: int, per_risk: int, weeks: int = 20, now: datetime | None = None
) -> list[GeneratedAccount]:
    """``clean`` clean accounts and ``per_risk`` accounts of each period risk."""
    rng = np.random.default_rng([seed, 4])
    moment = now or datetime.now(UTC)
    kinds = ["clean"] * clean + [kind for kind in RISKS for _ in range(per_risk)]
    return [build_account(i, kind, rng, moment, weeks) for i, kind in enumerate(kinds)]
