"""How close the period tests come to the best any test could do on the same data, in seconds.

The recall a rule can reach is bounded by the data: a 40% drop in the latest week of 30 Poisson
events a week cannot be told from noise at a false-alarm rate a CSM accepts, by any method.
This bench puts numbers on that bound for Poisson counts, weekly volume by weekly volume:

- *ampm*: the rule itself (``drops.strongest_drop`` and ``is_drop``;
  ``off_track.activity_off_track`` with a plan of three activities), judged once at the end of
  20 weeks of simulated counts: its recall, and its false alarms on clean series of the same
  volume (for activities: running at 90% of target, inside the 20% tolerance);
- *oracle*: the most powerful test of that very change (Neyman-Pearson), told what no rule
  knows: the true weekly rate before the change, when the change began and how deep it is. It
  raises when the total since the change is at most c, the largest total with a probability of
  at most alpha when nothing changed (for an activity: when it runs at 90% of target,
  the level the clean plans are drawn at); its recall is exact (scipy's Poisson
  distribution). It gets the false alarms ampm showed on the clean series of the same volume
  (at least half of one in the draws), shared by a plan's activities: both then spend the same
  budget, and the comparison is of what each buys with it.

It prints the recall of both per volume and age of the change, the volume from which the
oracle reaches 95% at a false-alarm rate of 0.5% a judgement, and the ratio of ampm's recall
to the oracle's. The oracle's recall is an
upper bound: a rule that must estimate the rate and the start, and must hold its false alarms
over several judgements and noisier accounts than Poisson ones, stays below it.

    .venv/bin/python bench/limits.py --series 400
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from power import FAMILY, WEEKS, drop_rule, off_track_rule
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.correlation.drops import DropRule  # noqa: E402

VOLUMES = (20, 40, 70, 100, 150, 250)
DROP_AGES = (1, 2, 3, 5, 10)
TARGETS = (6, 10, 15, 25, 40)
SHORTFALL_WEEKS = (3, 4, 6)
SHORTFALL = 0.5
RECALL_GOAL = 0.95
GOAL_ALPHA = 0.005
"""False alarms a judgement at which the volume needed for ``RECALL_GOAL`` is printed."""
CLEAN_DRAWS = 4
"""Clean series per series with a change: false alarms are rarer than hits."""


def oracle_recall(rate: float, periods: int, factor: float, alpha: float) -> float:
    """Recall of the most powerful test that the total of ``periods`` Poisson periods at
    ``rate`` fell to ``factor`` of it, at false-alarm rate ``alpha``: raise when the total is
    at most the largest c with P(total <= c | no change) <= alpha (no randomisation)."""
    before = stats.poisson(rate * periods)
    c = before.ppf(alpha)
    if before.cdf(c) > alpha:
        c -= 1
    return float(stats.poisson(rate * periods * factor).cdf(c)) if c >= 0 else 0.0


def oracle_volume(periods: int, factor: float, alpha: float) -> int | None:
    """The smallest whole weekly rate from which the oracle reaches ``RECALL_GOAL``."""
    for rate in range(1, 2001):
        if oracle_recall(rate, periods, factor, alpha) >= RECALL_GOAL:
            return rate
    return None


def share(rule: Callable[..., bool], draws: Sequence[Sequence[float]], *extra: float) -> float:
    """The share of ``draws`` on which ``rule`` raises."""
    return sum(rule(d, *extra) for d in draws) / len(draws)


def budget(alarms: float, draws: int) -> float:
    """The oracle's false-alarm rate: ampm's, or half of one alarm in ``draws`` when it showed
    none (the oracle at a rate of zero would raise nothing)."""
    return max(alarms, 0.5 / draws)


def cell(found: float, bound: float) -> str:
    """One cell of a table: ampm's recall over the oracle's."""
    return f"{found:6.2f}/{bound:.2f}"


def drops(rng: np.random.Generator, series: int, drop: float) -> float:
    """Print the drop table; the ratio of ampm's recall to the oracle's over all cells."""
    judged = drop_rule(DropRule())
    print(f"\nadoption drop, Poisson counts, {drop:.0%} drops, {series} series per cell, "
          f"{CLEAN_DRAWS * series} clean ones per volume")  # fmt: skip
    print(
        f"  {'a week':>8s} {'false alarms':>13s}   recall by weeks since it began (ampm / oracle)"
    )
    print(f"  {'':8s} {'ampm':>13s}   " + "".join(f"{age:>13d}" for age in DROP_AGES))
    ours = best = 0.0
    for volume in VOLUMES:
        clean = rng.poisson(volume, (CLEAN_DRAWS * series, WEEKS)).astype(float).tolist()
        alarms = share(judged, clean)
        alpha = budget(alarms, len(clean))
        cells = []
        for age in DROP_AGES:
            levels = np.full(WEEKS, float(volume))
            levels[WEEKS - age :] *= 1 - drop
            found = share(judged, rng.poisson(levels, (series, WEEKS)).astype(float).tolist())
            bound = oracle_recall(volume, age, 1 - drop, alpha)
            ours, best = ours + found, best + bound
            cells.append(cell(found, bound))
        print(f"  {volume:8d} {alarms:13.4f}   " + "".join(f"{c:>13s}" for c in cells))
    reach = [oracle_volume(age, 1 - drop, GOAL_ALPHA) for age in DROP_AGES]
    print(f"  oracle at {GOAL_ALPHA:.1%} reaches {RECALL_GOAL:.0%} from a weekly volume of "
          + ", ".join(f"{v} ({age} wk)" for v, age in zip(reach, DROP_AGES, strict=True)))  # fmt: skip
    return ours / best


def shortfalls(rng: np.random.Generator, series: int) -> float:
    """Print the off-track table; the ratio of ampm's recall to the oracle's over all cells."""
    clean_level = 0.9
    factor = SHORTFALL / clean_level
    print(f"\nactivity off track, Poisson counts, the last weeks at {SHORTFALL:.0%} of target, "
          f"{series} plans of {FAMILY} per cell, {CLEAN_DRAWS * series} clean ones at "
          f"{clean_level:.0%} of target")  # fmt: skip
    print(f"  {'target':>8s} {'false alarms':>13s}   recall by weeks short (ampm / oracle)")
    print(f"  {'':8s} {'ampm, a plan':>13s}   " + "".join(f"{k:>13d}" for k in SHORTFALL_WEEKS))
    ours = best = 0.0
    for target in TARGETS:
        plans = rng.poisson(clean_level * target, (CLEAN_DRAWS * series, FAMILY, WEEKS))
        alarms = sum(
            any(off_track_rule(v, target) for v in plan) for plan in plans.astype(float).tolist()
        ) / len(plans)
        alpha = budget(alarms, len(plans)) / FAMILY
        cells = []
        for weeks in SHORTFALL_WEEKS:
            levels = np.full(WEEKS, float(target))
            levels[WEEKS - weeks :] *= SHORTFALL
            draws = rng.poisson(levels, (series, WEEKS)).astype(float).tolist()
            found = share(off_track_rule, draws, float(target))
            bound = oracle_recall(clean_level * target, weeks, factor, alpha)
            ours, best = ours + found, best + bound
            cells.append(cell(found, bound))
        print(f"  {target:8d} {alarms:13.4f}   " + "".join(f"{c:>13s}" for c in cells))
    reach = [oracle_volume(k, factor, GOAL_ALPHA / FAMILY) for k in SHORTFALL_WEEKS]
    print(f"  oracle at {GOAL_ALPHA:.1%} a plan reaches {RECALL_GOAL:.0%} from a target of "
          + ", ".join(f"{round(v / clean_level) if v else None} ({k} wk)"
                      for v, k in zip(reach, SHORTFALL_WEEKS, strict=True)))  # fmt: skip
    return ours / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--series", type=int, default=400)
    parser.add_argument("--drop", type=float, default=0.4)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    drop_ratio = drops(rng, args.series, args.drop)
    off_ratio = shortfalls(rng, args.series)
    print(
        f"\nratio ampm / oracle recall: adoption drop {drop_ratio:.2f}, activity off track "
        f"{off_ratio:.2f} ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
