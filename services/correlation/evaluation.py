"""One account's evaluation: its series, every rule's decision, its health and itinerary status.

Pure: the handler loads an ``AccountState`` (a bounded window of buckets, the plan, the people,
the open signals), calls ``evaluate`` and saves what it returns.

Rules judge an account as of its data, in event time. The account's *watermark* is the latest
``occurred_at`` applied to it (the newest ``last_at`` of its buckets). A period is *complete*
once the watermark has passed its end by the allowed lateness; for an account that went quiet
(the sweeper evaluates accounts no event touched for a while) the wall clock completes it
instead. Period rules read complete periods only, so a week whose events are still on their way
(a history backfill cut into consumer batches) is never read as a week of zero usage. Each
change states when it became true in event time (``as_of``), when it was detected, and whether
it was detected while the account was catching up on history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from services.correlation import health as health_rules
from services.correlation import risk
from services.correlation.buckets import (
    Bucket,
    PeriodUnit,
    last_complete_period,
    period_end,
    shift_period,
)
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
    allowed_lateness: timedelta = timedelta(hours=1)
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

    changes: tuple[risk.Raise | risk.Resolve | risk.Update, ...]
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


def watermark(state: AccountState) -> datetime | None:
    """The latest event time applied to the account's loaded buckets (None without any)."""
    return max(
        (bucket.last_at for buckets in state.buckets.values() for bucket in buckets), default=None
    )


def complete_through(
    state: AccountState, now: datetime, config: EvaluationConfig, *, quiet: bool
) -> str | None:
    """The last period complete for the account: its watermark (or, for a quiet account, the
    wall clock) minus the allowed lateness, never beyond the wall clock. None before any."""
    mark = watermark(state)
    horizon = now if quiet else (min(mark, now) if mark is not None else None)
    if horizon is None:
        return None
    return last_complete_period(horizon - config.allowed_lateness, config.unit)


def catching_up(state: AccountState, now: datetime, config: EvaluationConfig) -> bool:
    """Whether the account's data lags the wall clock by more than a period and the lateness:
    a change found now is news about the past (a backfill), not about this week."""
    mark = watermark(state)
    return mark is not None and _lags(mark, now, config)


def _lags(moment: datetime, now: datetime, config: EvaluationConfig) -> bool:
    step = timedelta(weeks=1) if config.unit is PeriodUnit.WEEK else timedelta(days=1)
    return moment < now - config.allowed_lateness - step


def stamp_event_decision(
    decision: risk.Decision, occurred_at: datetime, now: datetime, config: EvaluationConfig
) -> risk.Decision:
    """A decision made on one event (a blocker) stamped like the evaluated ones: ``as_of`` its
    event time, catching up when that lags the wall clock by more than a period and the
    lateness."""
    if isinstance(decision, risk.NoChange):
        return decision
    stamp = _Stamp(
        as_of_period=occurred_at, detected_at=now, catching_up=_lags(occurred_at, now, config)
    )
    return stamp(decision)


def account_series(
    state: AccountState,
    now: datetime,
    config: EvaluationConfig,
    *,
    through: str | None = None,
) -> dict[str, Series]:
    """One series per loaded metric, from the account's first bucket in the window up to
    ``through`` (default: the wall clock's last complete period), so every series shares the
    same period keys."""
    last = through or last_complete_period(now, config.unit)
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
    plan: SuccessPlan, series: Mapping[str, Series], thresholds: risk.RiskThresholds | None = None
) -> dict[str, Projection | InsufficientEvidence]:
    """Each objective's projection to its deadline, with its prediction interval."""
    rules = thresholds or risk.RiskThresholds()
    return {
        objective.metric: project_objective(
            objective,
            series[objective.metric],
            min_points=rules.projection_min_points,
            confidence=rules.projection_confidence,
        )
        for objective in plan.objectives
        if objective.metric in series
    }


def evaluate(
    state: AccountState, now: datetime, config: EvaluationConfig, *, quiet: bool = False
) -> Evaluation:
    """Run every rule for the account as of its complete periods and score its health.

    ``quiet`` says that no event reached the account for a while, so the wall clock, not only
    its watermark, completes periods.
    """
    through = complete_through(state, now, config, quiet=quiet)
    series = account_series(state, now, config, through=through) if through else {}
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
            # A lifecycle event stamped a moment after this evaluation's clock (client clocks,
            # skew correction) still counts: the clock never runs behind the events applied.
            now=max([now, *state.reorganized_at, *state.role_changed_at]),
            is_open=is_open((SignalType.REORGANIZATION, state.account_id)),
            thresholds=thresholds,
        ),
    ]
    usage = series.get(USAGE_METRIC)
    if usage is not None:
        key = (SignalType.ADOPTION_DROP, USAGE_METRIC)
        decisions.append(risk.adoption_drop(usage, is_open=is_open(key), thresholds=thresholds))
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
                        family=len(plan.itinerary),
                    )
                )
        projected = projections(plan, series, thresholds)
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
                    thresholds=thresholds,
                )
            )
    stamp = _Stamp(
        as_of_period=period_end(through, config.unit) if through else None,
        detected_at=now,
        catching_up=catching_up(state, now, config),
    )
    changes = tuple(
        stamp(d) for d in decisions if isinstance(d, risk.Raise | risk.Resolve | risk.Update)
    )
    open_after = _open_after(state.open_signals, changes)
    health = health_rules.score_health(_health_inputs(state, series, open_after), config.weights)
    return Evaluation(
        changes=changes,
        health=health,
        open_signals=tuple(sorted(open_after)),
        plan=plan,
        series=series,
    )


# Evidence keys that date a lifecycle change in event time, in order of preference.
_EVENT_TIME_KEYS = ("departed_at", "triggered_at", "occurred_at")


@dataclass(frozen=True)
class _Stamp:
    """Adds ``as_of``, ``detected_at`` and ``catching_up`` to a change's evidence.

    ``as_of`` is the event time the statement holds at: the lifecycle event's own time, or the
    end of the last complete period a period rule read.
    """

    as_of_period: datetime | None
    detected_at: datetime
    catching_up: bool

    def __call__(self, change: Change) -> Change:
        evidence = dict(change.evidence)
        as_of = next((evidence[k] for k in _EVENT_TIME_KEYS if evidence.get(k)), None)
        if as_of is None:
            as_of = (self.as_of_period or self.detected_at).isoformat()
        evidence.update(
            as_of=as_of, detected_at=self.detected_at.isoformat(), catching_up=self.catching_up
        )
        return replace(change, evidence=evidence)


Change = risk.Raise | risk.Resolve | risk.Update


def _open_after(
    open_signals: Mapping[tuple[SignalType, str], Any],
    changes: Sequence[Change],
) -> list[SignalType]:
    keys = set(open_signals)
    for change in changes:
        key = (change.signal_type, change.subject)
        if isinstance(change, risk.Raise):
            keys.add(key)
        elif isinstance(change, risk.Resolve):
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
