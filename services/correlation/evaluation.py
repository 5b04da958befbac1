"""One account's evaluation: its series, every rule's decision, its health and itinerary status.

Pure: the handler loads an ``AccountState`` (a bounded window of buckets, the plan, the people,
the open signals), calls ``evaluate`` and saves what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.correlation import health as health_rules
from services.correlation import risk
from services.correlation.buckets import Bucket, PeriodUnit, last_complete_period, shift_period
from services.correlation.leadlag import LeadLag, Verdict, judge_plan
from services.correlation.plans import Aggregation, Stakeholder, SuccessPlan
from services.correlation.projection import Projection, project_objective
from services.correlation.series import InsufficientEvidence, Series, build_series
from shared.signals import ItineraryStatus, SignalType

USAGE_METRIC = "$usage"
"""Synthetic metric counting every usage event of an account (the adoption series)."""


@dataclass(frozen=True)
class EvaluationConfig:
    """The knobs of an evaluation; the service settings fill it."""

    unit: PeriodUnit = PeriodUnit.WEEK
    periods: int = 26
    max_lag: int = 4
    min_points: int = 10
    false_discovery_rate: float = 0.05
    thresholds: risk.RiskThresholds = field(default_factory=risk.RiskThresholds)
    weights: health_rules.HealthWeights = field(default_factory=health_rules.HealthWeights)


@dataclass(frozen=True)
class AccountState:
    """What the rules need about one account, loaded over a bounded window."""

    account_id: str
    plan: SuccessPlan | None
    stakeholders: tuple[Stakeholder, ...]
    buckets: Mapping[str, Sequence[Bucket]]
    reorganized_at: tuple[datetime, ...] = ()
    role_changed_at: tuple[datetime, ...] = ()
    reorganization_acknowledged_at: datetime | None = None
    open_signals: Mapping[tuple[SignalType, str], Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """The changes to apply and the health that results."""

    changes: tuple[risk.Raise | risk.Resolve, ...]
    health: health_rules.Health
    open_signals: tuple[SignalType, ...]
    plan: SuccessPlan | None
    series: Mapping[str, Series]


def plan_metrics(plan: SuccessPlan | None) -> list[str]:
    """The metrics an evaluation loads: the plan's and the usage series."""
    metrics = [USAGE_METRIC]
    if plan is not None:
        metrics += [objective.metric for objective in plan.objectives]
        metrics += [activity.metric for activity in plan.itinerary]
    return metrics


def first_period(now: datetime, config: EvaluationConfig) -> str:
    """The oldest period an evaluation looks at."""
    return shift_period(last_complete_period(now, config.unit), -(config.periods - 1), config.unit)


def aggregation_of(plan: SuccessPlan | None, metric: str) -> Aggregation:
    """How ``metric`` is reduced per period (usage counts events)."""
    if plan is not None:
        for objective in plan.objectives:
            if objective.metric == metric:
                return objective.aggregation
        for activity in plan.itinerary:
            if activity.metric == metric:
                return activity.aggregation
    return Aggregation.COUNT


def account_series(
    state: AccountState, now: datetime, config: EvaluationConfig
) -> dict[str, Series]:
    """One series per loaded metric, from the account's first bucket in the window up to the
    last complete period, so every series shares the same period keys."""
    last = last_complete_period(now, config.unit)
    window_start = first_period(now, config)
    known = [
        bucket.period_key
        for buckets in state.buckets.values()
        for bucket in buckets
        if window_start <= bucket.period_key <= last
    ]
    if not known:
        return {}
    first = min(known)
    return {
        metric: build_series(
            metric,
            [b for b in state.buckets.get(metric, ()) if first <= b.period_key <= last],
            aggregation_of(state.plan, metric),
            unit=config.unit,
            first=first,
            last=last,
        )
        for metric in plan_metrics(state.plan)
    }


def projections(
    plan: SuccessPlan, series: Mapping[str, Series]
) -> dict[str, Projection | InsufficientEvidence]:
    """Each objective's projection to its deadline."""
    return {
        objective.metric: project_objective(objective, series[objective.metric])
        for objective in plan.objectives
        if objective.metric in series
    }


def evaluate(state: AccountState, now: datetime, config: EvaluationConfig) -> Evaluation:
    """Run every rule for the account and score its health afterwards."""
    series = account_series(state, now, config)
    plan = state.plan
    is_open = state.open_signals.__contains__
    thresholds = config.thresholds
    decisions: list[risk.Decision] = [
        risk.sponsor_departure(
            state.account_id,
            state.stakeholders,
            is_open=is_open((SignalType.SPONSOR_DEPARTURE, state.account_id)),
        ),
        risk.reorganization(
            state.account_id,
            reorganized_at=state.reorganized_at,
            role_changed_at=state.role_changed_at,
            acknowledged_at=state.reorganization_acknowledged_at,
            now=now,
            is_open=is_open((SignalType.REORGANIZATION, state.account_id)),
            thresholds=thresholds,
        ),
    ]
    usage = series.get(USAGE_METRIC)
    if usage is not None:
        key = (SignalType.ADOPTION_DROP, USAGE_METRIC)
        baseline = state.open_signals.get(key, {}).get("baseline")
        decisions.append(
            risk.adoption_drop(
                usage,
                is_open=is_open(key),
                raised_baseline=float(baseline) if baseline is not None else None,
                thresholds=thresholds,
            )
        )
    if plan is not None:
        decisions.append(
            risk.no_adoption_owner(
                plan,
                state.stakeholders,
                is_open=is_open((SignalType.NO_ADOPTION_OWNER, plan.id)),
            )
        )
        for activity in plan.itinerary:
            if activity.metric in series:
                decisions.append(
                    risk.activity_off_track(
                        activity,
                        series[activity.metric],
                        is_open=is_open((SignalType.ACTIVITY_OFF_TRACK, activity.metric)),
                        thresholds=thresholds,
                    )
                )
        projected = projections(plan, series)
        for objective in plan.objectives:
            if objective.metric not in series:
                continue
            decisions.append(
                risk.objective_at_risk(
                    objective,
                    projected[objective.metric],
                    is_open=is_open((SignalType.OBJECTIVE_AT_RISK, objective.metric)),
                )
            )
            decisions.append(
                risk.objective_achieved(
                    objective,
                    series[objective.metric],
                    is_open=is_open((SignalType.OBJECTIVE_ACHIEVED, objective.metric)),
                )
            )
    changes = tuple(d for d in decisions if isinstance(d, risk.Raise | risk.Resolve))
    open_after = _open_after(state.open_signals, changes)
    health = health_rules.score_health(_health_inputs(state, series, open_after), config.weights)
    return Evaluation(
        changes=changes,
        health=health,
        open_signals=tuple(sorted(open_after)),
        plan=plan,
        series=series,
    )


def _open_after(
    open_signals: Mapping[tuple[SignalType, str], Any],
    changes: Sequence[risk.Raise | risk.Resolve],
) -> list[SignalType]:
    keys = set(open_signals)
    for change in changes:
        key = (change.signal_type, change.subject)
        if isinstance(change, risk.Raise):
            keys.add(key)
        else:
            keys.discard(key)
    return [signal_type for signal_type, _ in keys]


def _health_inputs(
    state: AccountState, series: Mapping[str, Series], open_signals: Sequence[SignalType]
) -> health_rules.HealthInputs:
    plan = state.plan
    usage = series.get(USAGE_METRIC)
    latest: dict[str, float] = {}
    if plan is not None:
        for objective in plan.objectives:
            known = series[objective.metric].latest() if objective.metric in series else None
            if known is not None:
                latest[objective.metric] = known[1]
    return health_rules.HealthInputs(
        adoption_trend=health_rules.adoption_trend_component(usage) if usage else None,
        itinerary_adherence=health_rules.itinerary_adherence_component(plan, series)
        if plan
        else None,
        objective_progress=health_rules.objective_progress_component(plan, latest)
        if plan
        else None,
        open_risks=health_rules.open_risks_component(open_signals),
        stakeholder_coverage=health_rules.stakeholder_coverage_component(state.stakeholders),
    )


def plan_verdicts(
    plan: SuccessPlan, series: Mapping[str, Series], config: EvaluationConfig
) -> tuple[LeadLag, ...]:
    """The plan's lead/lag verdicts over ``series`` with the configured FDR control."""
    return judge_plan(
        plan,
        series,
        max_lag=config.max_lag,
        min_points=config.min_points,
        false_discovery_rate=config.false_discovery_rate,
    )


def itinerary_status(
    plan: SuccessPlan | None, series: Mapping[str, Series], config: EvaluationConfig
) -> tuple[ItineraryStatus, ...]:
    """Each activity's target, latest value and lead/lag verdict on the objectives.

    An activity's verdict is ``moves_objective`` when it moves any objective (the strongest
    such effect is reported), otherwise the best of the others. Verdicts are the costly part of
    an evaluation: only called when health is published.
    """
    if plan is None:
        return ()
    rank = {Verdict.MOVES_OBJECTIVE: 0, Verdict.NO_EVIDENCE: 1, Verdict.INSUFFICIENT_EVIDENCE: 2}
    chosen: dict[str, LeadLag] = {}
    for pair in plan_verdicts(plan, series, config):
        current = chosen.get(pair.activity_metric)
        strength = abs(pair.best.r) if pair.best else 0.0
        if current is None or (rank[pair.verdict], -strength) < (
            rank[current.verdict],
            -(abs(current.best.r) if current.best else 0.0),
        ):
            chosen[pair.activity_metric] = pair
    statuses = []
    for activity in plan.itinerary:
        known = series[activity.metric].latest() if activity.metric in series else None
        verdict = chosen.get(activity.metric)
        best = verdict.best if verdict else None
        statuses.append(
            ItineraryStatus(
                activity=activity.metric,
                title=activity.title,
                direction=activity.direction.value,
                target=activity.target_per_period,
                actual=known[1] if known else None,
                verdict=verdict.verdict.value if verdict else None,
                objective=verdict.objective_metric if verdict else None,
                lag=best.lag if best else None,
                effect_r=best.r * verdict.intended_sign if best and verdict else None,
                q_value=best.q_value if best else None,
            )
        )
    return tuple(statuses)
