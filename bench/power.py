"""Size and power of the period tests on simulated weekly series with known truth, in seconds.

The judgement benchmarks replay whole accounts (``judgement.py`` in process, ``signals.py``
through the services) and take minutes. This one calls the two noise-aware tests directly,
``drops.strongest_drop`` and ``off_track.activity_off_track``, on series drawn here with numpy
under noise models of their own (none shared with ``tests/support``), judged once at the end
as a backfill is:

- usage: Poisson at 40-400 a week and at 10-30 (low volume), users with gamma-Poisson counts,
  a log-normal weekly swing, a persistent AR(1) level, seasonality, one holiday week at 40-70%
  (any week, the latest included), a trend of up to 1.5% a week; drops of ``--drop`` (40%)
  that started 1-10 weeks before the end;
- activities: counts around their target (Poisson or gamma-Poisson, on target or 10% short,
  inside the 20% tolerance) for plans of three; shortfalls to half the target for the last 3-8
  weeks or the whole history; targets from 4 to 40 a week.

The baseline is the rule a first version would write, measured on the same draws: a drop is
the latest week 30% below the mean of the four before it; an activity is off track when its
last two weeks are below target. It prints the false alarms per noise model and the recall per
age of the risk for both, and the ratios.

    .venv/bin/python bench/power.py --series 400
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.correlation.buckets import PeriodUnit, period_range, shift_period  # noqa: E402
from services.correlation.drops import DropRule, is_drop, strongest_drop  # noqa: E402
from services.correlation.off_track import activity_off_track  # noqa: E402
from services.correlation.plans import (  # noqa: E402
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
)
from services.correlation.risk import Raise  # noqa: E402
from services.correlation.series import Series  # noqa: E402

WEEKS = 20
KEYS = period_range("2026-W01", shift_period("2026-W01", WEEKS - 1))
USAGE_MODELS = ("poisson", "low_volume", "users", "swing", "ar1", "seasonal", "holiday", "trend")
DROP_AGES = (1, 2, 3, 5, 8, 10)
ACTIVITY_MODELS = ("poisson", "gamma_poisson", "poisson_short", "gamma_poisson_short")
SHORTFALL_WEEKS = (3, 4, 6, 8, WEEKS)
TARGETS = (4, 6, 10, 15, 25, 40)
FAMILY = 3

Rule = Callable[[Sequence[float]], bool]


def usage_levels(rng: np.random.Generator, model: str) -> np.ndarray:
    """The expected weekly usage of one clean account under ``model``."""
    low = model == "low_volume"
    base = rng.uniform(10, 30) if low else math.exp(rng.uniform(math.log(40), math.log(400)))
    weeks = np.arange(WEEKS)
    levels = np.full(WEEKS, base)
    if model == "swing":
        levels *= np.exp(rng.normal(0, rng.uniform(0.05, 0.15), WEEKS))
    if model == "ar1":
        phi, sd, x = rng.uniform(0.5, 0.8), rng.uniform(0.03, 0.06), 0.0
        for week in weeks:
            x = phi * x + rng.normal(0, sd)
            levels[week] = base * math.exp(x)
    if model == "seasonal":
        amplitude, period = rng.uniform(0.05, 0.12), rng.choice([4, 13])
        levels *= 1 + amplitude * np.sin(2 * np.pi * (weeks / period + rng.random()))
    if model == "trend":
        levels *= (1 + rng.uniform(-0.015, 0.015)) ** weeks
    if model == "holiday":
        levels[rng.integers(2, WEEKS)] *= rng.uniform(0.4, 0.7)
    return levels


def usage_counts(rng: np.random.Generator, levels: np.ndarray, model: str) -> list[float]:
    """Weekly counts around ``levels``: several users' gamma-Poisson counts for ``users``."""
    if model != "users":
        return [float(c) for c in rng.poisson(levels)]
    shares = rng.gamma(2, 1, rng.integers(3, 10))
    shares /= shares.sum()
    size = rng.uniform(3, 8)
    rates = rng.gamma(size, np.outer(levels, shares) / size)
    return [float(c) for c in rng.poisson(rates).sum(axis=1)]


def drop_rule(rule: DropRule) -> Rule:
    def judged(counts: Sequence[float]) -> bool:
        test = strongest_drop(counts, rule)
        return test is not None and is_drop(test, rule)

    return judged


def naive_drop(counts: Sequence[float]) -> bool:
    """The baseline: the latest week 30% below the mean of the four before it."""
    trailing = sum(counts[-5:-1]) / 4
    return trailing > 0 and counts[-1] < 0.7 * trailing


def activity(target: float) -> ActivityTarget:
    return ActivityTarget(
        metric="contacts",
        category=ActivityCategory.PROCESS,
        target_per_period=target,
        direction=ActivityDirection.INCREASE,
    )


def off_track_rule(values: Sequence[float], target: float) -> bool:
    series = Series("contacts", PeriodUnit.WEEK, KEYS, tuple(values))
    decision = activity_off_track(activity(target), series, is_open=False, family=FAMILY)
    return isinstance(decision, Raise)


def naive_off_track(values: Sequence[float], target: float) -> bool:
    """The baseline: the last two weeks below target."""
    return values[-1] < target and values[-2] < target


def activity_counts(
    rng: np.random.Generator, target: float, level: float, dispersed: bool, short_weeks: int
) -> list[float]:
    means = np.full(WEEKS, target * level)
    if short_weeks:
        means[WEEKS - short_weeks :] = target * 0.5
    if dispersed:
        means = rng.gamma(5, means / 5)
    return [float(c) for c in rng.poisson(means)]


def row(label: str, found: dict[str, int], total: int) -> None:
    """One line of the table: each rule's share of ``total``."""
    print(f"  {label:24s}" + "".join(f"{hits / total:9.3f}" for hits in found.values()))


def summary(
    alarms: dict[str, int], clean_total: int, recalled: dict[str, int], risk_total: int
) -> tuple[float, float]:
    """Print both rules' overall figures; (recall, false alarms) of ampm over the baseline's."""
    fa = {name: hits / clean_total for name, hits in alarms.items()}
    recall = {name: hits / risk_total for name, hits in recalled.items()}
    print(f"  all: ampm recall {recall['ampm']:.3f} false alarms {fa['ampm']:.3f}; "
          f"naive recall {recall['naive']:.3f} false alarms {fa['naive']:.3f}")  # fmt: skip
    return recall["ampm"] / max(recall["naive"], 1e-9), fa["ampm"] / max(fa["naive"], 1e-9)


def usage_report(rng: np.random.Generator, series: int, drop: float) -> tuple[float, float]:
    rules = {"ampm": drop_rule(DropRule()), "naive": naive_drop}
    print(f"\nadoption drop: {series} clean series per noise model, {drop:.0%} drops")
    print(f"  {'false alarms':24s}" + "".join(f"{name:>9s}" for name in rules))
    alarms = dict.fromkeys(rules, 0)
    for model in USAGE_MODELS:
        draws = [usage_counts(rng, usage_levels(rng, model), model) for _ in range(series)]
        found = {name: sum(rule(d) for d in draws) for name, rule in rules.items()}
        for name in rules:
            alarms[name] += found[name]
        row(model, found, series)
    print(f"  {'recall, weeks since it began':24s}")
    recalled = dict.fromkeys(rules, 0)
    per_age = series // 2
    for age in DROP_AGES:
        draws = []
        for n in range(per_age):
            model = ("poisson", "users", "swing", "ar1", "seasonal")[n % 5]
            levels = usage_levels(rng, model)
            levels[WEEKS - age :] *= 1 - drop
            draws.append(usage_counts(rng, levels, model))
        found = {name: sum(rule(d) for d in draws) for name, rule in rules.items()}
        for name in rules:
            recalled[name] += found[name]
        row(str(age), found, per_age)
    clean_total, risk_total = series * len(USAGE_MODELS), per_age * len(DROP_AGES)
    return summary(alarms, clean_total, recalled, risk_total)


def activity_report(rng: np.random.Generator, series: int) -> tuple[float, float]:
    rules: dict[str, Callable[[Sequence[float], float], bool]] = {
        "ampm": off_track_rule,
        "naive": naive_off_track,
    }
    print(f"\nactivity off track: {series} clean plans of {FAMILY} activities per noise model")
    print(f"  {'false alarms (per plan)':24s}" + "".join(f"{name:>9s}" for name in rules))
    alarms = dict.fromkeys(rules, 0)
    for model in ACTIVITY_MODELS:
        level = 0.9 if model.endswith("_short") else 1.0
        dispersed = model.startswith("gamma")
        found = dict.fromkeys(rules, 0)
        for _ in range(series):
            plan = [
                (activity_counts(rng, target, level, dispersed, 0), target)
                for target in rng.choice(TARGETS, FAMILY)
            ]
            for name, rule in rules.items():
                found[name] += any(rule(values, t) for values, t in plan)
        for name in rules:
            alarms[name] += found[name]
        row(model, found, series)
    print(f"  {'recall, weeks at half':24s}")
    recalled = dict.fromkeys(rules, 0)
    for weeks in SHORTFALL_WEEKS:
        found = dict.fromkeys(rules, 0)
        for n in range(series):
            target = float(rng.choice(TARGETS))
            values = activity_counts(rng, target, 1.0, n % 2 == 1, weeks)
            for name, rule in rules.items():
                found[name] += rule(values, target)
        for name in rules:
            recalled[name] += found[name]
        row(str(weeks), found, series)
    clean_total, risk_total = series * len(ACTIVITY_MODELS), series * len(SHORTFALL_WEEKS)
    return summary(alarms, clean_total, recalled, risk_total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--drop", type=float, default=0.4)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    drop_recall, drop_fa = usage_report(rng, args.series, args.drop)
    off_recall, off_fa = activity_report(rng, args.series)
    print(
        f"\nratio ampm / naive: adoption drop recall {drop_recall:.2f}, false alarms "
        f"{drop_fa:.3f}; activity off track recall {off_recall:.2f}, false alarms {off_fa:.3f} "
        f"({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
