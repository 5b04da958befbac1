"""What a cohort of similar accounts says: random-effects pooling and the ideal itinerary.

Each account contributes, per (activity, objective) pair and lag, its pre-whitened correlation
(``leadlag``) turned toward the plan's intended direction (positive means "moves the objective
the way the plan hopes"). Per lag these are pooled on Fisher's z with DerSimonian and Laird's
random-effects model, because accounts differ: tau-squared is the between-account variance,
I-squared the share of the spread that is not sampling noise, and the prediction interval is
where a new account's effect is expected to fall (Higgins, Thompson and Spiegelhalter 2009).

The lag is chosen per pair as the one with the smallest pooled p; that choice among L lags is
paid for with a Bonferroni correction (p x L, intervals at level 1 - alpha / L). An itinerary
step is advice to every new customer of the cohort, a costlier mistake than one account's
verdict, so across the cohort's pairs the family-wise error is controlled (Holm, at
``cohort_alpha``, 1% by default) rather than the false discovery rate; Benjamini-Hochberg
q-values are reported beside. Only pairs whose verdict is ``moves_objective`` in the intended
direction enter the ideal itinerary.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from scipy import stats

from services.correlation.leadlag import LeadLag, Verdict, benjamini_hochberg
from services.correlation.plans import ActivityCategory, ActivityDirection, SuccessPlan

DEFAULT_MIN_ACCOUNTS = 3
DEFAULT_COHORT_ALPHA = 0.01
ALPHA = 0.05
# atanh(+-1) is infinite; a perfect coefficient is clipped so it weighs heavily but stays finite.
_R_LIMIT = 1 - 1e-12

_Choice = TypeVar("_Choice", ActivityCategory, ActivityDirection)


@dataclass(frozen=True)
class RandomEffects:
    """A DerSimonian-Laird pooled estimate on the scale of the inputs (Fisher's z here)."""

    estimate: float
    standard_error: float
    ci_low: float
    ci_high: float
    tau_squared: float
    i_squared: float
    q_statistic: float
    prediction_low: float | None
    prediction_high: float | None
    studies: int

    @property
    def z(self) -> float:
        return self.estimate / self.standard_error


def dersimonian_laird(
    effects: Sequence[float], variances: Sequence[float], *, alpha: float = ALPHA
) -> RandomEffects:
    """Pool ``effects`` with within-study ``variances`` under a random-effects model.

    The confidence interval uses the normal quantile at ``1 - alpha / 2``; the prediction
    interval uses t with k - 2 degrees of freedom and needs at least three studies.
    Raises ValueError for fewer than one study or a non-positive variance.
    """
    k = len(effects)
    if k == 0 or len(variances) != k or any(v <= 0 for v in variances):
        raise ValueError("random-effects pooling needs studies with positive variances")
    weights = [1 / v for v in variances]
    total = sum(weights)
    fixed = sum(w * y for w, y in zip(weights, effects, strict=True)) / total
    q = sum(w * (y - fixed) ** 2 for w, y in zip(weights, effects, strict=True))
    c = total - sum(w * w for w in weights) / total
    tau2 = max(0.0, (q - (k - 1)) / c) if k > 1 and c > 0 else 0.0
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    random_weights = [1 / (v + tau2) for v in variances]
    random_total = sum(random_weights)
    estimate = sum(w * y for w, y in zip(random_weights, effects, strict=True)) / random_total
    se = math.sqrt(1 / random_total)
    z = float(stats.norm.ppf(1 - alpha / 2))
    low_pi = high_pi = None
    if k >= 3:
        half = float(stats.t.ppf(1 - alpha / 2, k - 2)) * math.sqrt(tau2 + se * se)
        low_pi, high_pi = estimate - half, estimate + half
    return RandomEffects(
        estimate=estimate,
        standard_error=se,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        tau_squared=tau2,
        i_squared=i2,
        q_statistic=q,
        prediction_low=low_pi,
        prediction_high=high_pi,
        studies=k,
    )


@dataclass(frozen=True)
class PooledEffect:
    """A cohort's pooled lead of one activity on one objective, in the intended direction.

    ``r`` and its intervals are correlations (back from Fisher's z); positive means the
    activity moves the objective the way plans intend. ``p_value`` is one-sided and already
    multiplied by the number of lags tried; ``p_holm`` (which decides) and ``q_value`` are
    adjusted across the cohort's pairs.
    """

    activity_metric: str
    objective_metric: str
    lag: int
    lags_tried: int
    r: float
    ci_low: float
    ci_high: float
    prediction_low: float | None
    prediction_high: float | None
    tau_squared: float
    i_squared: float
    p_value: float
    p_holm: float
    q_value: float
    verdict: Verdict
    n: int
    accounts: int


def _z(r: float) -> float:
    return math.atanh(max(-_R_LIMIT, min(_R_LIMIT, r)))


def _tanh(value: float | None) -> float | None:
    return None if value is None else math.tanh(value)


def pool_cohort(
    verdicts_by_account: Mapping[str, Iterable[LeadLag]],
    *,
    min_accounts: int = DEFAULT_MIN_ACCOUNTS,
    cohort_alpha: float = DEFAULT_COHORT_ALPHA,
) -> tuple[PooledEffect, ...]:
    """Per (activity, objective), the random-effects pooled lead at its corrected best lag.

    Strongest first (by the pooled r in the intended direction).
    """
    samples: dict[tuple[str, str], dict[int, list[tuple[float, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for verdicts in verdicts_by_account.values():
        for pair in verdicts:
            for test in pair.tests:
                if test.n > 3:
                    aligned = test.r * pair.intended_sign
                    key = (pair.activity_metric, pair.objective_metric)
                    samples[key][test.lag].append((aligned, test.n))
    candidates = []
    for (activity, objective), by_lag in sorted(samples.items()):
        pooled_lags = {
            lag: dersimonian_laird(
                [_z(r) for r, _ in values],
                [1 / (n - 3) for _, n in values],
                alpha=ALPHA / len(by_lag),
            )
            for lag, values in sorted(by_lag.items())
            if len(values) >= min_accounts
        }
        if not pooled_lags:
            continue
        tried = len(pooled_lags)
        lag, best = min(pooled_lags.items(), key=lambda item: (-item[1].z, item[0]))
        p_value = min(1.0, float(stats.norm.sf(best.z)) * tried)
        candidates.append((activity, objective, lag, tried, best, p_value, by_lag[lag]))
    p_values = [c[5] for c in candidates]
    q_values = benjamini_hochberg(p_values)
    holm = holm_adjusted(p_values)
    effects = []
    for (activity, objective, lag, tried, best, p_value, values), q, p_holm in zip(
        candidates, q_values, holm, strict=True
    ):
        moves = p_holm <= cohort_alpha and best.estimate > 0
        effects.append(
            PooledEffect(
                activity_metric=activity,
                objective_metric=objective,
                lag=lag,
                lags_tried=tried,
                r=math.tanh(best.estimate),
                ci_low=math.tanh(best.ci_low),
                ci_high=math.tanh(best.ci_high),
                prediction_low=_tanh(best.prediction_low),
                prediction_high=_tanh(best.prediction_high),
                tau_squared=best.tau_squared,
                i_squared=best.i_squared,
                p_value=p_value,
                p_holm=p_holm,
                q_value=q,
                verdict=Verdict.MOVES_OBJECTIVE if moves else Verdict.NO_EVIDENCE,
                n=sum(n for _, n in values),
                accounts=len(values),
            )
        )
    return tuple(sorted(effects, key=lambda e: (-e.r, e.activity_metric, e.objective_metric)))


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the order given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class ItineraryStep:
    """A recommended activity for a new account, with what the cohort commits to.

    ``typical_target`` is the median target of the cohort's plans; ``reached_target`` the
    median among accounts that reached the objective (None when none did yet).
    """

    activity_metric: str
    effect: PooledEffect
    category: ActivityCategory | None
    direction: ActivityDirection | None
    typical_target: float | None
    reached_target: float | None
    plans: int
    reached_plans: int


def ideal_itinerary(
    pooled: Iterable[PooledEffect],
    cohort_plans: Iterable[SuccessPlan],
    reached_accounts: Iterable[str] = (),
) -> tuple[ItineraryStep, ...]:
    """Activities whose pooled verdict is ``moves_objective``, strongest first.

    ``reached_accounts`` are the accounts that met an objective of their plan.
    """
    reached = set(reached_accounts)
    strongest: dict[str, PooledEffect] = {}
    for effect in pooled:
        if effect.verdict is not Verdict.MOVES_OBJECTIVE:
            continue
        current = strongest.get(effect.activity_metric)
        if current is None or effect.r > current.r:
            strongest[effect.activity_metric] = effect
    committed = defaultdict(list)
    committed_reached = defaultdict(list)
    for plan in cohort_plans:
        for activity in plan.itinerary:
            committed[activity.metric].append(activity)
            if plan.account_id in reached:
                committed_reached[activity.metric].append(activity.target_per_period)
    steps = []
    for metric, effect in strongest.items():
        targets = committed.get(metric, [])
        reached_targets = committed_reached.get(metric, [])
        steps.append(
            ItineraryStep(
                activity_metric=metric,
                effect=effect,
                category=_most_common(t.category for t in targets),
                direction=_most_common(t.direction for t in targets),
                typical_target=statistics.median(t.target_per_period for t in targets)
                if targets
                else None,
                reached_target=statistics.median(reached_targets) if reached_targets else None,
                plans=len(targets),
                reached_plans=len(reached_targets),
            )
        )
    return tuple(sorted(steps, key=lambda s: (-s.effect.r, s.activity_metric)))


def _most_common(values: Iterable[_Choice]) -> _Choice | None:
    """The most frequent value, alphabetically first on ties, so the answer is stable."""
    counts = Counter(values)
    if not counts:
        return None
    return min(counts, key=lambda value: (-counts[value], value))
