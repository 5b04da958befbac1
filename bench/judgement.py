"""Judgement in process: the period rules over thousands of generated accounts, in seconds.

The pure pipeline of ``tests/support/replay.py`` (the same domain functions the correlation
service calls, without Kafka or the database) replays each account's history of four seeded
generators, each built its own way (``tests/support/portfolio.py``, ``scenarios.py``,
``fieldwork.py`` and ``teams.py``), two ways:

- *backfill*: the whole history posted at once, cut into random consumer batches, the plan put
  before or after it, then the sweeper finds the account idle;
- *live*: week by week as it happens, each week's values applied an hour after it ended, so
  every rule is judged once per week (the sequential looks a live account gets).

It prints, per period rule (adoption drop, activity off track, objective at risk, objective
achieved), recall on the accounts where that risk was injected and false alarms as a share of
the clean accounts (per noise model), and flaps (a raise later resolved) in both modes. The
baseline is the figure the same run gives for the *live* mode: a backfill should find what the
live weeks found, and flap less. Lifecycle rules are measured through the real services by
``bench/signals.py``.

    .venv/bin/python bench/judgement.py --accounts 1500
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.correlation.event_time import EvaluationConfig  # noqa: E402
from services.correlation.plans import (  # noqa: E402
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from tests.support import fieldwork, portfolio, scenarios, teams  # noqa: E402
from tests.support.replay import AccountReplay, Value, replay, values_of  # noqa: E402

PERIOD_RULES = ("adoption_drop", "activity_off_track", "objective_at_risk", "objective_achieved")


@dataclass(frozen=True)
class Case:
    """One generated account: its values, plan, truth and noise model."""

    generator: str
    account_id: str
    expected: str | None
    model: str
    values: list[Value]
    plan: SuccessPlan
    plan_first: bool


def _case(
    generator: str,
    account_id: str,
    expected: str | None,
    model: str,
    events: list[dict[str, Any]],
    plan: dict[str, Any],
    plan_first: bool,
) -> Case:
    """One generated account as a case; injected accounts share the model ``injected``."""
    success_plan = SuccessPlan.model_validate(
        {"id": f"plan-{account_id}", "account_id": account_id, **plan}
    )
    model = model if expected is None else "injected"
    return Case(generator, account_id, expected, model, values_of(events), success_plan, plan_first)


def cases(seed: int, accounts: int, now: datetime) -> list[Case]:
    """About ``accounts`` accounts from each of the portfolio and scenarios generators, 40% of
    them clean, and as many clean and per period risk from the fieldwork and teams generators."""
    per_risk = max(1, round(accounts * 0.6 / 2 / 8))
    clean = round(accounts * 0.4 / 2)
    counts: dict[str, Any] = {"clean": clean, "per_risk": per_risk, "now": now}
    return [
        *(
            _case("portfolio", a.account_id, a.expected, a.kind, a.events, a.plan, True)
            for a in portfolio.build_portfolio(seed, **counts)
        ),
        *(
            _case("scenarios", a.account_id, a.expected, a.model, a.events, a.plan, a.plan_first)
            for a in scenarios.build_scenarios(seed, **counts)
        ),
        *(
            _case("fieldwork", a.account_id, a.expected, a.model, a.events, a.plan, a.plan_first)
            for a in fieldwork.build_fieldwork(seed, **counts)
        ),
        *(
            _case("teams", a.account_id, a.expected, a.model, a.events, a.plan, a.plan_first)
            for a in teams.build_teams(seed, **counts)
        ),
    ]


PEOPLE = (
    Stakeholder(
        "owner",
        StakeholderRole.ADOPTION_OWNER,
        StakeholderStatus.ACTIVE,
        datetime.min.replace(tzinfo=UTC),
    ),
)


def backfill(
    case: Case, config: EvaluationConfig, now: datetime, rng: random.Random
) -> AccountReplay:
    cuts = sorted(rng.randrange(len(case.values)) for _ in range(rng.randint(0, 15)))
    plan = case.plan.model_copy(update={"adoption_owner_id": "owner"})
    return replay(
        case.values,
        config,
        now=now,
        cuts=cuts,
        plan=plan,
        plan_at=0 if case.plan_first else len(cuts) + 1,
        stakeholders=PEOPLE,
    )


def live(case: Case, config: EvaluationConfig) -> AccountReplay:
    """Each week's values applied an hour after it ended, then the sweeper finds it idle."""
    plan = case.plan.model_copy(update={"adoption_owner_id": "owner"})
    account = AccountReplay(config, stakeholders=PEOPLE)
    account.put_plan(plan, min(v.occurred_at for v in case.values))
    by_week: dict[datetime, list[Value]] = defaultdict(list)
    for value in case.values:
        day = value.occurred_at.date()
        monday = datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)
        by_week[monday].append(value)
    for monday in sorted(by_week):
        clock = monday + timedelta(weeks=1, hours=2)
        account.apply(by_week[monday], clock)
        account.sweep(clock + config.tail_idle)
    return account


def report(title: str, results: list[tuple[Case, AccountReplay]]) -> None:
    clean = [(c, r) for c, r in results if c.expected is None]
    print(f"\n{title}: {len(results)} accounts, {len(clean)} clean")
    for rule in PERIOD_RULES:
        injected = [(c, r) for c, r in results if c.expected == rule]
        if rule == "objective_achieved":
            found = sum(any(p.signal_type.value == rule for p in r.raised()) for _, r in injected)
        else:
            found = sum(rule in {t.value for t in r.open_types()} for _, r in injected)
        alarms = [c for c, r in clean if any(p.signal_type.value == rule for p in r.raised())]
        by_model = Counter(c.model for c in alarms)
        models = ", ".join(f"{m} {n}" for m, n in sorted(by_model.items()))
        recall = found / len(injected) if injected else float("nan")
        print(
            f"  {rule:20s} recall {found:4d}/{len(injected):<4d} {recall:.3f}   false alarms "
            f"{len(alarms):3d} {len(alarms) / len(clean):.3f}  {models}"
        )
    clean_flaps = sum(len(r.resolved()) for _, r in clean)
    own_flaps = sum(
        sum(p.signal_type.value == c.expected for p in r.resolved())
        for c, r in results
        if c.expected in PERIOD_RULES
    )
    print(f"  flaps: {clean_flaps} on clean accounts, {own_flaps} of an injected period risk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=800)
    args = parser.parse_args()
    now = datetime.now(UTC)
    config = EvaluationConfig()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    generated = cases(args.seed, args.accounts, now)
    print(f"generated {len(generated)} accounts in {time.perf_counter() - started:.1f} s")
    for generator in ("portfolio", "scenarios", "fieldwork", "teams"):
        chosen = [c for c in generated if c.generator == generator]
        started = time.perf_counter()
        report(f"{generator} backfill", [(c, backfill(c, config, now, rng)) for c in chosen])
        report(f"{generator} live (baseline)", [(c, live(c, config)) for c in chosen])
        print(f"  ({time.perf_counter() - started:.1f} s)")
    models = Counter(c.model for c in generated if c.expected is None)
    print(
        "\nclean accounts per noise model: "
        + ", ".join(f"{k} {n}" for k, n in sorted(models.items()))
    )


if __name__ == "__main__":
    main()
