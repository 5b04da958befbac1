"""A third seeded generator with known truth, built unlike ``portfolio.py`` and
``scenarios.py`` so that the period rules are also judged on data neither was shaped on.

Usage is drawn per user and per day, not per week: a weekday rhythm (quiet weekends), users'
rates that differ log-normally, users who join and leave during the history (on clean accounts
as many join as leave), and events that come in bursts (one action emitting several events, a
compound Poisson count). Some accounts are young (8-12 weeks of history), some grow slowly. The
plan's activities are counts that two to five reps report day by day (a rep is away for a week
now and then) or a level measured once a week that is sometimes not reported at all; the KPI is
the mean of daily readings or the week's last one.

Clean models: ``bursty`` (events in batches of one to six), ``weekday_rhythm`` (Poisson days),
``team_churn`` (a third of the users replaced during the history), ``slow_growth`` (1-3% more a
week), ``young`` (8-12 weeks of history), ``sparse`` (5-25 events a week, some weeks none). An
activity on track runs at 95-115% of its target (85-105% for one to decrease). Injected: an
adoption drop of 35-50% that began 1-10 weeks before the end, at once or as a ramp over two or
three weeks; one activity at 40-65% of its target for the last 3-8 weeks; the objective reached
and held for 2-4 weeks; the objective flat and far from its target with the deadline 3-10 weeks
away.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tests.support.generated import GeneratedAccount

CLEAN_MODELS = ("bursty", "weekday_rhythm", "team_churn", "slow_growth", "young", "sparse")
RISKS = ("adoption_drop", "activity_off_track", "objective_achieved", "objective_at_risk")

# (metric, direction, target range, reported as a weekly measured level)
ACTIVITIES: tuple[tuple[str, str, tuple[float, float], bool], ...] = (
    ("meetings_held", "increase", (8, 30), False),
    ("proposals_sent", "increase", (4, 12), False),
    ("accounts_researched", "increase", (15, 60), False),
    ("coaching_hours", "increase", (4, 12), True),
    ("tickets_escalated", "decrease", (4, 20), False),
    ("hours_on_admin", "decrease", (10, 30), True),
)
WEEKDAY_SHARE = np.array([0.22, 0.22, 0.21, 0.2, 0.13, 0.01, 0.01])
"""How a user's week spreads over Monday to Sunday."""


class FieldworkAccount(GeneratedAccount):
    """A generated account whose plan names its sponsor."""

    @property
    def sponsor_id(self) -> str:
        """The person the plan names as its sponsor."""
        return f"{self.account_id}-sponsor"


class _Account:
    """Builds one account's events from a seeded numpy generator."""

    def __init__(self, account_id: str, rng: np.random.Generator, start: datetime, end: datetime):
        self.account_id, self.rng, self.start, self.end = account_id, rng, start, end
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, name: str, at: datetime, **extra: Any) -> None:
        if at >= self.end:
            return
        event_id = str(uuid.UUID(bytes=self.rng.bytes(16), version=4))
        self.events.append({"id": event_id, "kind": kind, "name": name,
                            "account_id": self.account_id, "occurred_at": at.isoformat(),
                            **extra})  # fmt: skip

    def moment(self, week: int, day: int, hours: tuple[float, float] = (7, 19)) -> datetime:
        offset = timedelta(weeks=week, days=day, hours=float(self.rng.uniform(*hours)))
        return self.start + offset


def _usage(account: _Account, model: str, weeks: int, drop: tuple[int, float, int]) -> float:
    """Daily usage of several users; ``drop`` is (first week, share, weeks of ramp). Returns
    the account's weekly volume before any drop."""
    rng = account.rng
    volume = rng.uniform(5, 25) if model == "sparse" else float(np.exp(rng.uniform(3.7, 6.0)))
    users = int(rng.integers(3, 12))
    rates = rng.lognormal(0, 0.6, users)
    rates *= volume / rates.sum()
    # Each user's weeks of presence: churned users leave and are replaced by newcomers.
    present = np.ones((users, weeks), dtype=bool)
    if model == "team_churn":
        for user in rng.choice(users, max(1, users // 3), replace=False):
            present[user, int(rng.integers(2, weeks - 2)) :] = False
            # The newcomer takes over the leaver's work, at a pace of their own.
            rates = np.append(rates, rates[user] * rng.lognormal(0, 0.2))
            present = np.vstack([present, ~present[user]])
    growth = rng.uniform(0.01, 0.03) if model == "slow_growth" else 0.0
    burst = rng.uniform(1.5, 3.5) if model == "bursty" else 1.0
    first, share, ramp = drop
    for week in range(weeks):
        level = (1 + growth) ** week
        if week >= first:
            level *= 1 - share * min(1.0, (week - first + 1) / ramp)
        for user, rate in enumerate(rates):
            if not present[user, week]:
                continue
            for day, day_share in enumerate(WEEKDAY_SHARE):
                actions = rng.poisson(rate * level * day_share / burst)
                for _ in range(actions):
                    size = 1 + rng.poisson(burst - 1) if burst > 1 else 1
                    at = account.moment(week, day)
                    for n in range(size):
                        account.add("usage", "record.updated", at + timedelta(seconds=n),
                                    person_id=f"{account.account_id}-user{user}")  # fmt: skip
    return volume


def _activities(
    account: _Account, weeks: int, off: str | None, off_weeks: int, factor: float
) -> list[dict[str, Any]]:
    """Three or four activities of the plan and their reported values."""
    rng = account.rng
    chosen = [ACTIVITIES[i] for i in rng.choice(len(ACTIVITIES), int(rng.integers(3, 5)), False)]
    if off is not None and not any(metric == off for metric, *_ in chosen):
        chosen[0] = next(a for a in ACTIVITIES if a[0] == off)
    itinerary = []
    for metric, direction, (low, high), measured in chosen:
        target = float(round(rng.uniform(low, high)))
        itinerary.append({"metric": metric, "category": "routine", "direction": direction,
                          "target_per_period": target,
                          **({"aggregation": "last"} if measured else {})})  # fmt: skip
        on_track = rng.uniform(0.95, 1.15) if direction == "increase" else rng.uniform(0.85, 1.05)
        short = factor if direction == "increase" else 1 / factor
        reps = rng.lognormal(0, 0.4, int(rng.integers(2, 6)))
        reps /= reps.sum()
        for week in range(weeks):
            level = target * (short if metric == off and week >= weeks - off_weeks else on_track)
            if measured:
                if rng.random() < 0.1:  # nobody reported it that week
                    continue
                value = round(max(0.0, level * (1 + rng.normal(0, 0.12))), 1)
                account.add("activity", metric, account.moment(week, 4), value=value)
                continue
            for rep in reps:
                if rng.random() < 0.05:  # away for the week
                    continue
                for day in range(5):
                    count = int(rng.poisson(level * rep / 5))
                    if count:
                        account.add("activity", metric, account.moment(week, day), value=count)
    return itinerary


def _kpi(account: _Account, kind: str, weeks: int, mean: bool) -> dict[str, Any]:
    """A win rate in percent on its way to the objective, or reached, or stuck."""
    rng = account.rng
    baseline = round(float(rng.uniform(15, 25)), 1)
    target = round(baseline + float(rng.uniform(5, 10)), 1)
    deadline_weeks = int(rng.integers(3, 11)) if kind == "objective_at_risk" else 0
    if not deadline_weeks:
        deadline_weeks = int(rng.integers(15, 35))
    slope = (target - baseline) / (weeks + deadline_weeks - float(rng.uniform(0, 3)))
    held = int(rng.integers(2, 5)) if kind == "objective_achieved" else 0
    for week in range(weeks):
        if kind == "objective_at_risk":
            level = baseline + 0.1 * (target - baseline)
        elif week >= weeks - held:
            level = target + float(rng.uniform(0.1, 0.3)) * (target - baseline)
        else:
            level = min(baseline + slope * week, target - 0.1 * (target - baseline))
        days = range(5) if mean else (4,)
        for day in days:
            sd = 0.1 * (target - baseline) if mean else 0.04 * (target - baseline)
            account.add("performance", "win_rate", account.moment(week, day),
                        value=round(level + float(rng.normal(0, sd)), 2))  # fmt: skip
    monday = account.start + timedelta(weeks=weeks)
    return {"metric": "win_rate", "baseline": baseline, "target": target, "direction": "up",
            "deadline": (monday + timedelta(weeks=deadline_weeks)).date().isoformat(),
            "aggregation": "mean" if mean else "last"}  # fmt: skip


def build_account(
    index: int, kind: str, rng: np.random.Generator, now: datetime, weeks: int = 20
) -> FieldworkAccount:
    """One account of ``kind`` (``clean`` or a period risk) with ``weeks`` weeks of history
    (8-12 for a young one)."""
    model = str(rng.choice(CLEAN_MODELS if kind == "clean" else CLEAN_MODELS[:5]))
    weeks = int(rng.integers(8, 13)) if model == "young" else weeks
    aid = f"fw-{index:04d}-{kind.replace('_', '-')}"
    monday = datetime.combine(
        (now - timedelta(days=now.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    end = now - timedelta(minutes=5) if rng.random() < 0.5 else monday
    account = _Account(aid, rng, monday - timedelta(weeks=weeks), end)
    result = FieldworkAccount(aid, kind, model, plan_first=bool(rng.random() < 0.5))
    account.add("lifecycle", "account.identified", account.start + timedelta(minutes=5),
                properties={"name": f"Fieldwork {index}", "seats": int(rng.integers(5, 60))})  # fmt: skip
    for n, role in enumerate(("sponsor", "adoption_owner")):
        account.add("lifecycle", "person.identified", account.start + timedelta(minutes=6 + n),
                    person_id=f"{aid}-{role.split('_')[0]}", properties={"role": role})  # fmt: skip

    drop = (weeks + 1, 0.0, 1)
    if kind == "adoption_drop":
        age = int(rng.integers(1, min(10, weeks - 6) + 1))
        drop = (weeks - age, float(rng.uniform(0.35, 0.5)), int(rng.choice([1, 1, 2, 3])))
    volume = _usage(account, model, weeks, drop)
    if kind == "adoption_drop":
        result.truth = {"weeks_ago": age, "share": round(drop[1], 2), "ramp": drop[2],
                        "volume": round(volume)}  # fmt: skip

    off = str(rng.choice([a[0] for a in ACTIVITIES])) if kind == "activity_off_track" else None
    off_weeks, factor = int(rng.integers(3, 9)), float(rng.uniform(0.4, 0.65))
    itinerary = _activities(account, weeks, off, off_weeks, factor)
    if off is not None:
        target = next(a["target_per_period"] for a in itinerary if a["metric"] == off)
        result.truth = {"metric": off, "weeks": off_weeks, "factor": round(factor, 2),
                        "target": target}  # fmt: skip
    objective = _kpi(account, kind, weeks, mean=bool(rng.random() < 0.5))
    result.plan = {"objectives": [objective], "itinerary": itinerary,
                   "sponsor_id": result.sponsor_id, "adoption_owner_id": f"{aid}-adoption"}  # fmt: skip
    account.events.sort(key=lambda e: e["occurred_at"])
    result.events = account.events
    return result


def build_fieldwork(
    seed: int, *, clean: int, per_risk: int, weeks: int = 20, now: datetime | None = None
) -> list[FieldworkAccount]:
    """``clean`` clean accounts and ``per_risk`` accounts of each period risk."""
    rng = np.random.default_rng(seed)
    moment = now or datetime.now(UTC)
    kinds = ["clean"] * clean + [kind for kind in RISKS for _ in range(per_risk)]
    return [build_account(i, kind, rng, moment, weeks) for i, kind in enumerate(kinds)]
