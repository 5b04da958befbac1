"""A second, independent seeded portfolio with known truth: varied volumes, noise models and
plans, and each injected risk drawn over a range of sizes and ages.

It exists beside ``portfolio.py`` so that the rules are not tuned to one generator. Accounts
differ in everything a vendor's customers differ in: 2-12 users with unequal, irregular usage;
weekly volumes from a handful to hundreds of events; plans of three to five activities (counts
and measured levels, to increase, decrease or stop) with targets from 3 to 80 a week, reported
once a week or every day, on track but not always on target (within the 20% tolerance, some a
little short), measured levels swinging 5-25% with or without persistence (AR(1)), counts
Poisson or gamma-Poisson; a ratio KPI reported weekly or every other week; history that ends
last Sunday or runs up to now; plans put before or after the history.

Clean accounts ("stable, noisy") draw one noise model each: Poisson usage at low volume,
users with over-dispersed (negative binomial) weekly counts, users who skip weeks, a
log-normal weekly swing, a slowly wandering (AR(1)) level, a gentle seasonality, and one
holiday week well before the end. Injected risks: a sponsor leaving (with or without the role
on the event) up to 18 weeks before the end, a reorganisation (an explicit event or a burst of
role changes) up to 18 weeks before the end, an adoption drop of 30-50% that started 1-10 weeks before the end (users leaving
or everyone using it less), a blocker still open, the adoption owner leaving, one activity
30-60% short of target for the last 3-8 weeks (or all along), the objective reached and held
for 2-4 weeks, and an objective stuck far from its target with the deadline 3-10 weeks away.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.generated import GeneratedAccount

CLEAN_MODELS = (
    "low_volume",
    "overdispersed_users",
    "irregular_users",
    "weekly_swing",
    "wandering_level",
    "seasonal",
    "holiday",
)
RISKS = (
    "sponsor_departure",
    "reorganization",
    "adoption_drop",
    "blocker_reported",
    "no_adoption_owner",
    "activity_off_track",
    "objective_achieved",
    "objective_at_risk",
)

# (metric, title, direction, target range, measured level or count, per day)
ACTIVITY_CATALOG: tuple[tuple[str, str, str, tuple[float, float], bool, bool], ...] = (
    ("contacts_identified", "Newly identified contacts", "increase", (20, 80), False, True),
    ("social_campaigns", "Social campaigns", "increase", (3, 8), False, False),
    ("profiles_targeted", "Targeted profiles", "increase", (10, 40), False, True),
    ("hours_prospecting", "Hours of prospecting", "increase", (15, 40), True, False),
    ("demos_booked", "Demos booked", "increase", (4, 15), False, False),
    ("bounced_emails", "Bounced emails", "decrease", (5, 30), False, True),
    ("manual_reports", "Reports built by hand", "decrease", (3, 12), False, False),
    ("cold_calls", "Cold calls", "stop", (0, 0), False, False),
)


@dataclass
class ScenarioAccount(GeneratedAccount):
    """A generated account whose injected risk may be about one metric."""

    subject: str | None = None
    """The metric the injected risk is about, where it is about one."""


class _Draw:
    """Seeded draws, with event ids from the same seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        # Ids from a stream of their own, named for this generator: the portfolio generator
        # given the same seed must not draw the same ids (the ingest drops duplicates).
        self.ids = random.Random(f"scenarios:{seed}")

    def id(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        if lam > 50:
            return max(0, round(self.rng.gauss(lam, math.sqrt(lam))))
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def negative_binomial(self, mean: float, size: float) -> int:
        return self.poisson(self.rng.gammavariate(size, mean / size)) if mean > 0 else 0


def _event(
    draw: _Draw, kind: str, name: str, account: str, at: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "id": draw.id(),
        "kind": kind,
        "name": name,
        "account_id": account,
        "occurred_at": at.isoformat(),
        **extra,
    }


def _usage_levels(model: str, weeks: int, base: float, draw: _Draw) -> list[float]:
    """The expected weekly usage of an account under a clean noise model."""
    rng = draw.rng
    levels = [base] * weeks
    if model == "weekly_swing":
        sd = rng.uniform(0.05, 0.15)
        levels = [base * math.exp(rng.gauss(-sd * sd / 2, sd)) for _ in range(weeks)]
    elif model == "wandering_level":
        phi, sd, x = rng.uniform(0.5, 0.8), rng.uniform(0.03, 0.06), 0.0
        levels = []
        for _ in range(weeks):
            x = phi * x + rng.gauss(0, sd)
            levels.append(base * math.exp(x))
    elif model == "seasonal":
        amplitude, period, phase = rng.uniform(0.05, 0.12), rng.choice([4, 13]), rng.random()
        levels = [
            base * (1 + amplitude * math.sin(2 * math.pi * (w / period + phase)))
            for w in range(weeks)
        ]
    elif model == "holiday":
        levels[rng.randrange(2, weeks - 4)] *= rng.uniform(0.4, 0.7)
    return levels


def build_account(index: int, kind: str, draw: _Draw, now: datetime, weeks: int) -> ScenarioAccount:
    """One account of ``kind`` (``clean`` or a risk) with ``weeks`` weeks of history."""
    rng = draw.rng
    model = rng.choice(CLEAN_MODELS) if kind == "clean" else rng.choice(CLEAN_MODELS[1:6])
    aid = f"sc-{index:04d}-{kind.replace('_', '-')}"
    account = ScenarioAccount(aid, kind, model, plan_first=rng.random() < 0.5)
    monday = datetime.combine(
        (now - timedelta(days=now.weekday())).date(), datetime.min.time(), tzinfo=UTC
    )
    through_now = rng.random() < 0.5
    start = monday - timedelta(weeks=weeks)
    end = (
        now - timedelta(minutes=5) if through_now else monday - timedelta(hours=rng.uniform(1, 30))
    )
    events = account.events

    def at_in_week(week: int, rng_hours: tuple[float, float] = (1, 166)) -> datetime:
        moment = start + timedelta(weeks=week, hours=rng.uniform(*rng_hours))
        return min(moment, end)

    head = start + timedelta(minutes=30)
    seats = rng.choice([10, 25, 40, 80])
    events.append(
        _event(draw, "lifecycle", "account.identified", aid, head,
               properties={"name": f"Account {index}", "segment": rng.choice(["smb", "mid", "ent"]),
                           "seats": seats})
    )  # fmt: skip
    people = rng.randint(4, 10)
    roles = ["sponsor", "adoption_owner", "supervisor", *["user"] * (people - 3)]
    titles = {"sponsor": "VP Sales", "adoption_owner": "Sales Ops Lead", "supervisor": "Team Lead"}
    for n, role in enumerate(roles):
        events.append(
            _event(draw, "lifecycle", "person.identified", aid, head + timedelta(minutes=n + 1),
                   person_id=f"{aid}-u{n}",
                   properties={"role": role, "title": titles.get(role, "Account Executive")})
        )  # fmt: skip

    # Usage: several users with unequal shares of the account's weekly volume.
    users = [f"{aid}-u{n}" for n in range(1, people)]
    base = (
        rng.uniform(8, 30)
        if model == "low_volume"
        else math.exp(rng.uniform(math.log(40), math.log(400)))
    )
    weights = [rng.gammavariate(2, 1) for _ in users]
    total_weight = sum(weights)
    levels = _usage_levels(model, weeks, base, draw)
    attendance = rng.uniform(0.75, 0.95) if model == "irregular_users" else 1.0
    size = rng.uniform(3, 8) if model == "overdispersed_users" else 0.0
    drop_from, drop_share, leaving = weeks + 1, 0.0, False
    if kind == "adoption_drop":
        drop_from, drop_share = weeks - rng.randint(1, 10), rng.uniform(0.3, 0.5)
        leaving = rng.random() < 0.5
    # Users who leave take about ``drop_share`` of the usage with them.
    order = sorted(range(len(users)), key=lambda i: weights[i])
    gone: set[int] = set()
    if leaving:
        share = 0.0
        for i in order:
            if share + weights[i] / total_weight > drop_share + 0.1:
                continue
            gone.add(i)
            share += weights[i] / total_weight
            if share >= drop_share - 0.05:
                break
        leaving = bool(gone)
    if kind == "adoption_drop":
        account.truth = {"weeks_ago": weeks - drop_from, "share": round(drop_share, 2),
                         "leaving": leaving, "volume": round(base)}  # fmt: skip
    for week in range(weeks):
        for i, user in enumerate(users):
            mean = levels[week] * weights[i] / total_weight
            if week >= drop_from:
                if leaving:
                    mean = 0.0 if i in gone else mean
                else:
                    mean *= 1 - drop_share
            if attendance < 1 and rng.random() > attendance:
                continue
            count = draw.negative_binomial(mean, size) if size else draw.poisson(mean)
            for _ in range(count):
                moment = at_in_week(week)
                if moment < end:
                    events.append(
                        _event(draw, "usage", "report.viewed", aid, moment, person_id=user)
                    )

    # The plan: three to five activities, one ratio KPI.
    chosen = rng.sample(ACTIVITY_CATALOG, rng.randint(3, 5))
    itinerary, specs = [], []
    for metric, title, direction, (low, high), measured, daily in chosen:
        target = 0.0 if direction == "stop" else float(round(rng.uniform(low, high)))
        itinerary.append({"metric": metric, "title": title, "category": "process",
                          "target_per_period": target, "direction": direction})  # fmt: skip
        specs.append((metric, direction, target, measured, daily))
    off = rng.choice([s for s in specs if s[1] != "stop"]) if kind == "activity_off_track" else None
    off_from = weeks - rng.randint(3, 8) if rng.random() < 0.8 else 0
    off_factor = rng.uniform(0.4, 0.7)
    if off is not None:
        account.subject = off[0]
        account.truth = {"weeks": weeks - off_from, "factor": round(off_factor, 2),
                         "target": off[2], "measured": off[3]}  # fmt: skip
    for metric, direction, target, measured, daily in specs:
        # On track means within the tolerance: some activities run a little short of target.
        if direction == "increase":
            level = target * rng.uniform(0.9, 1.2)
        elif direction == "decrease":
            level = target * rng.uniform(0.7, 1.1)
        else:
            level = 0.0
        # Measured levels swing by 5-25% with some persistence (AR(1)); counts are Poisson or,
        # for a team whose weeks differ, gamma-Poisson.
        cv, persistence = rng.uniform(0.05, 0.25), rng.choice([0.0, 0.0, 0.3, 0.5])
        size = rng.choice([0.0, 0.0, rng.uniform(5, 20)])
        swing = 0.0
        for week in range(weeks):
            mean = level
            if off is not None and metric == off[0] and week >= off_from:
                mean = target * off_factor if direction == "increase" else target / off_factor
            if mean <= 0:
                continue
            swing = persistence * swing + math.sqrt(1 - persistence**2) * rng.gauss(0, 1)
            if measured:
                value = round(max(0.0, mean * (1 + cv * swing)), 1)
                events.append(_event(draw, "activity", metric, aid, at_in_week(week, (30, 140)),
                                     value=value))  # fmt: skip
            elif daily:
                weekly = draw.rng.gammavariate(size, mean / size) if size else mean
                for day in range(7):
                    moment = start + timedelta(weeks=week, days=day, hours=rng.uniform(8, 18))
                    count = draw.poisson(weekly / 7)
                    if count and moment < end:
                        events.append(_event(draw, "activity", metric, aid, moment, value=count))
            else:
                count = draw.negative_binomial(mean, size) if size else draw.poisson(mean)
                if count:
                    events.append(_event(draw, "activity", metric, aid,
                                         at_in_week(week, (30, 140)), value=count))  # fmt: skip

    # The KPI: a conversion rate in percent, reported weekly or every other week; on its way
    # to the target but short of it, except where it is reached or stuck.
    baseline = round(rng.uniform(1.5, 3.0), 1)
    target = round(baseline + rng.uniform(0.8, 1.5), 1)
    gap = target - baseline
    noise = rng.uniform(0.02, 0.05) * gap
    deadline_weeks = rng.randint(12, 30)
    slope = (gap + 0.1) / (weeks + deadline_weeks - rng.uniform(0, 4))
    if kind == "objective_at_risk":
        deadline_weeks = rng.randint(3, 10)
        slope = rng.uniform(-0.005, 0.005) * gap
    every = rng.choice([1, 1, 2])
    held = rng.randint(2, 4) if kind == "objective_achieved" else 0
    for week in range(weeks):
        if week < weeks - held and week % every:
            continue
        if week >= weeks - held:
            value = target + rng.uniform(0.05, 0.25) * gap
        else:
            value = min(baseline + slope * week, target - 0.15 * gap) + rng.gauss(0, noise)
        moment = at_in_week(week, (90, 120))
        if moment < end:
            events.append(_event(draw, "performance", "conversion_rate", aid, moment,
                                 value=round(value, 3)))  # fmt: skip
    deadline = (monday + timedelta(weeks=deadline_weeks)).date().isoformat()
    account.plan = {
        "objectives": [{"metric": "conversion_rate", "title": "Lead conversion rate",
                        "baseline": baseline, "target": target, "direction": "up",
                        "deadline": deadline, "aggregation": "last"}],
        "itinerary": itinerary,
        "sponsor_id": f"{aid}-u0",
        "adoption_owner_id": f"{aid}-u1",
    }  # fmt: skip
    if rng.random() < 0.3:  # some vendors name the people only through their roles
        del account.plan["sponsor_id"]
        del account.plan["adoption_owner_id"]

    match kind:
        case "sponsor_departure":
            when = end - timedelta(weeks=rng.uniform(0.2, 18))
            props = {"role": "sponsor"} if rng.random() < 0.5 else {}
            events.append(_event(draw, "lifecycle", "stakeholder.departed", aid, when,
                                 person_id=f"{aid}-u0", properties=props))  # fmt: skip
        case "no_adoption_owner":
            when = end - timedelta(weeks=rng.uniform(0.2, 6))
            events.append(_event(draw, "lifecycle", "stakeholder.departed", aid, when,
                                 person_id=f"{aid}-u1", properties={"role": "adoption_owner"}))  # fmt: skip
        case "reorganization" if rng.random() < 0.6:
            when = end - timedelta(days=rng.uniform(1, 130))
            events.append(_event(draw, "lifecycle", "org.reorganized", aid, when,
                                 properties={"description": "teams merged"}))  # fmt: skip
        case "reorganization":  # three role changes within a few days
            when = end - timedelta(days=rng.uniform(5, 120))
            for n, (person, role) in enumerate(((2, "user"), (3, "supervisor"), (2, "supervisor"))):
                events.append(_event(draw, "lifecycle", "person.identified", aid,
                                     when + timedelta(days=n), person_id=f"{aid}-u{person}",
                                     properties={"role": role, "title": "Team Lead"}))  # fmt: skip
        case "blocker_reported":
            events.append(_event(draw, "lifecycle", "blocker.reported", aid,
                                 end - timedelta(days=rng.uniform(1, 20)),
                                 properties={"blocker_id": f"{aid}-sso",
                                             "summary": "Single sign-on not enabled"}))  # fmt: skip
    events.sort(key=lambda e: e["occurred_at"])
    return account


def build_scenarios(
    seed: int, *, clean: int, per_risk: int, weeks: int = 20, now: datetime | None = None
) -> list[ScenarioAccount]:
    """``clean`` clean accounts and ``per_risk`` accounts of each injected risk."""
    draw = _Draw(seed)
    moment = now or datetime.now(UTC)
    kinds = ["clean"] * clean + [kind for kind in RISKS for _ in range(per_risk)]
    return [build_account(i, kind, draw, moment, weeks) for i, kind in enumerate(kinds)]
