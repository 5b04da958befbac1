"""One account's evaluation: its series, every rule's decision, its health and itinerary status.

Pure: the handler loads an ``AccountState`` (a bounded window of buckets, the plan, the people,
the open signals), decides what to judge from the account's ``Progress``, calls ``evaluate``
and saves what it returns.

Rules judge an account as of its data, in event time: when, and on which periods, is
``event_time``'s (the account's ``Progress``, its watermark, and what each trigger runs).

Lifecycle rules (sponsor departure, reorganization, blockers) are decided on every lifecycle
event, catching up or not. Each change states when it became true in event time (``as_of``),
when it was detected, and whether that lay more than a period in the past (``catching_up``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.correlation import health as health_rules
from services.correlation import off_track, risk
from services.correlation.buckets import (
    Bucket,
    last_complete_period,
    period_end,
    shift_period,
)
from services.correlation.drops import first_detected
from services.correlation.event_time import EvaluationConfig, Scope
from services.correlation.plans import Aggregation, Stakeholder, SuccessPlan
from services.correlation.projection import Projection, project_objective
from services.correlation.series import InsufficientEvidence, Series, build_series
from shared.clock import timestamp
from shared.signals import SignalType

USAGE_METRIC = "$usage"
"""Synthetic metric counting every usage event of an account (the adoption series)."""


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
    """The changes to apply and the health that results (as of the periods read)."""

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


def stamp_event_decision(
    decision: risk.Decision, occurred_at: datetime, now: datetime, config: EvaluationConfig
) -> risk.Decision:
    """A decision made on one event (a blocker) stamped like the evaluated ones: ``as_of`` its
    event time, catching up when that lags the wall clock by more than a period and the
    lateness."""
    if isinstance(decision, risk.NoChange):
        return decision
    return _Stamp(as_of_period=occurred_at, detected_at=now, config=config)(decision)


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
    state: AccountState,
    now: datetime,
    config: EvaluationConfig,
    *,
    scope: Scope = Scope.JUDGEMENT,
    through: str | None = None,
) -> Evaluation:
    """Run the rules of ``scope`` for the account and score its health.

    ``through`` is the last complete period the period rules judge (``Scope.JUDGEMENT``) or
    last judged (the health is read from it); None when no period is.
    """
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
    if plan is not None and scope is not Scope.LIFECYCLE:
        decisions.append(
            risk.no_adoption_owner(
                plan,
                state.stakeholders,
                is_open=is_open((SignalType.NO_ADOPTION_OWNER, plan.id)),
            )
        )
    if scope is Scope.JUDGEMENT:
        decisions += _period_decisions(state, series, config)
    stamp = _Stamp(
        as_of_period=period_end(through, config.unit) if through else None,
        detected_at=now,
        config=config,
    )
    changes = tuple(
        _kept_dates(stamp(d), state.open_signals)
        for d in decisions
        if isinstance(d, risk.Raise | risk.Resolve | risk.Update)
    )
    open_after = _open_after(state.open_signals, changes)
    health = health_rules.score_health(health_inputs(state, series, open_after), config.weights)
    return Evaluation(
        changes=changes,
        health=health,
        open_signals=tuple(sorted(open_after)),
        plan=plan,
        series=series,
    )


def _period_decisions(
    state: AccountState, series: Mapping[str, Series], config: EvaluationConfig
) -> list[risk.Decision]:
    """The period rules' decisions; a raise is dated (``became_true_at``) by the first complete
    period on which its rule would have raised, so a history judged at once reports when a
    weekly evaluation would have seen it."""
    plan = state.plan
    is_open = state.open_signals.__contains__
    thresholds = config.thresholds
    decisions: list[risk.Decision] = []
    usage = series.get(USAGE_METRIC)
    if usage is not None:
        key = (SignalType.ADOPTION_DROP, USAGE_METRIC)
        drop = risk.adoption_drop(usage, is_open=is_open(key), thresholds=thresholds)
        if isinstance(drop, risk.Raise):
            counts = [value or 0.0 for value in usage.values]
            end = first_detected(counts, thresholds.drop) or len(counts)
            drop = _dated(drop, usage, end, config)
        decisions.append(drop)
    if plan is None:
        return decisions
    for activity in plan.itinerary:
        if activity.metric not in series:
            continue
        family = len(plan.itinerary)
        values = series[activity.metric]
        off = off_track.activity_off_track(
            activity,
            values,
            is_open=is_open((SignalType.ACTIVITY_OFF_TRACK, activity.metric)),
            thresholds=thresholds,
            family=family,
        )
        if isinstance(off, risk.Raise):
            end = off_track.first_off_track(activity, values, thresholds, family) or len(
                values.keys
            )
            off = _dated(off, values, end, config)
        decisions.append(off)
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
    return decisions


def _dated(raised: risk.Raise, series: Series, end: int, config: EvaluationConfig) -> risk.Raise:
    """``raised`` with ``became_true_at``: the end of the ``end``-th period of ``series``."""
    became = period_end(series.keys[end - 1], config.unit)
    return replace(raised, evidence={**raised.evidence, "became_true_at": timestamp(became)})


# Evidence keys that date a signal; an open signal keeps them from its raise when its evidence
# is brought up to date: it became true then, whatever the latest data says.
_DATING_KEYS = ("as_of", "became_true_at", "catching_up")


def _kept_dates(change: Change, open_signals: Mapping[tuple[SignalType, str], Any]) -> Change:
    if not isinstance(change, risk.Update):
        return change
    raised = open_signals.get((change.signal_type, change.subject)) or {}
    kept = {key: raised[key] for key in _DATING_KEYS if key in raised}
    return replace(change, evidence={**change.evidence, **kept})


# Evidence keys that date a change in event time, in order of preference: the lifecycle event's
# own time, or when a period rule's condition first held.
_RAISED_AT_KEYS = ("departed_at", "triggered_at", "occurred_at", "reached_at", "became_true_at")


@dataclass(frozen=True)
class _Stamp:
    """Adds ``as_of``, ``detected_at`` and ``catching_up`` to a change's evidence.

    ``as_of`` is the event time the statement holds at: for a raise, when its condition became
    true (the lifecycle event's time, or the first period a period rule would have raised on);
    for a resolve, when it ended where the rule knows (``since``: a successor's arrival, the
    end of a quiet window); otherwise the end of the last complete period the rules read. ``catching_up`` says that
    ``as_of`` lies more than a period and the allowed lateness before the detection: news
    about the past (a backfill), not about this week.
    """

    as_of_period: datetime | None
    detected_at: datetime
    config: EvaluationConfig

    def __call__(self, change: Change) -> Change:
        evidence = dict(change.evidence)
        as_of = None
        if isinstance(change, risk.Raise):
            as_of = next((evidence[k] for k in _RAISED_AT_KEYS if evidence.get(k)), None)
        elif isinstance(change, risk.Resolve):
            as_of = evidence.get("since")  # when the condition ended, in event time
        if as_of is None:
            as_of = timestamp(self.as_of_period or self.detected_at)
        lag = self.detected_at - datetime.fromisoformat(str(as_of))
        late = lag > self.config.step + self.config.allowed_lateness
        evidence.update(as_of=as_of, detected_at=timestamp(self.detected_at), catching_up=late)
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


def health_inputs(
    state: AccountState, series: Mapping[str, Series], open_signals: Sequence[SignalType]
) -> health_rules.HealthInputs:
    """The health components of an account from its series and the signals open."""
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
