"""Risk and milestone rules: each decides raise, resolve or no change for one (type, subject).

Every rule is told whether its signal is open, so one subject never has two open signals of a
type: a rule raises only when closed and resolves only when open. Evidence carries the values,
thresholds and periods or dates behind the decision so the notifier can explain it.

Subjects: the account id for sponsor_departure and reorganization, the plan id for
no_adoption_owner, the metric for adoption_drop, activity_off_track, objective_at_risk and
objective_achieved, the ``blocker_id`` property for blocker_reported.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.correlation.plans import (
    ActivityTarget,
    Objective,
    Stakeholder,
    StakeholderRole,
    SuccessPlan,
)
from services.correlation.projection import Projection
from services.correlation.series import InsufficientEvidence, Series
from shared.events import Envelope
from shared.signals import SIGNAL_CATEGORY, GpsCategory, SignalType

BLOCKER_REPORTED_EVENT = "blocker.reported"
BLOCKER_RESOLVED_EVENT = "blocker.resolved"
REORGANIZATION_EVENT = "org.reorganized"


@dataclass(frozen=True)
class RiskThresholds:
    """The rules' thresholds; the service settings fill it."""

    reorganization_role_changes: int = 3
    reorganization_window: timedelta = timedelta(days=30)
    reorganization_quiet_window: timedelta = timedelta(days=30)
    adoption_drop_share: float = 0.30
    adoption_trailing_periods: int = 4
    off_track_periods: int = 2


@dataclass(frozen=True)
class Raise:
    """Open a signal for ``subject``."""

    signal_type: SignalType
    subject: str
    evidence: Mapping[str, Any]

    @property
    def category(self) -> GpsCategory:
        return SIGNAL_CATEGORY[self.signal_type]


@dataclass(frozen=True)
class Resolve:
    """Close the open signal of ``subject``."""

    signal_type: SignalType
    subject: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class NoChange:
    """Leave the signal of ``subject`` as it is (open or not)."""

    signal_type: SignalType
    subject: str


Decision = Raise | Resolve | NoChange


def _decide(
    signal_type: SignalType,
    subject: str,
    is_open: bool,
    active: bool | None,
    evidence: Mapping[str, Any],
) -> Decision:
    """``active`` is whether the risk condition holds now, None when the data cannot say."""
    if active is True and not is_open:
        return Raise(signal_type, subject, evidence)
    if active is False and is_open:
        return Resolve(signal_type, subject, evidence)
    return NoChange(signal_type, subject)


def sponsor_departure(
    account_id: str, stakeholders: Iterable[Stakeholder], *, is_open: bool
) -> Decision:
    """Raised when a sponsor departed and no sponsor is active; resolved by a new active sponsor.

    An account that never had a sponsor is a coverage gap (health), not a departure.
    """
    sponsors = [person for person in stakeholders if person.role is StakeholderRole.SPONSOR]
    active = sorted(person.person_id for person in sponsors if person.is_active)
    departed = sorted((p for p in sponsors if not p.is_active), key=lambda p: p.changed_at)
    if active:
        evidence: dict[str, Any] = {"sponsor_ids": active}
        condition: bool | None = False
    elif departed:
        evidence = {
            "departed_sponsor_ids": [person.person_id for person in departed],
            "departed_at": departed[-1].changed_at.isoformat(),
        }
        condition = True
    else:
        evidence, condition = {}, None
    return _decide(SignalType.SPONSOR_DEPARTURE, account_id, is_open, condition, evidence)


def reorganization(
    account_id: str,
    *,
    reorganized_at: Iterable[datetime],
    role_changed_at: Iterable[datetime],
    acknowledged_at: datetime | None,
    now: datetime,
    is_open: bool,
    thresholds: RiskThresholds = RiskThresholds(),
) -> Decision:
    """Raised by ``org.reorganized`` or a burst of role changes; resolved by quiet or an ack.

    A burst is ``reorganization_role_changes`` changes within ``reorganization_window``. The
    signal resolves once ``reorganization_quiet_window`` has passed since the latest trigger, or
    when a CSM acknowledged it after that trigger; a later trigger raises it again.
    """
    trigger = _latest_trigger(reorganized_at, role_changed_at, now, thresholds)
    if trigger is None:
        return _decide(SignalType.REORGANIZATION, account_id, is_open, False, {})
    triggered_at, cause, changes = trigger
    quiet_until = triggered_at + thresholds.reorganization_quiet_window
    acknowledged = acknowledged_at is not None and acknowledged_at >= triggered_at
    evidence: dict[str, Any] = {
        "cause": cause,
        "triggered_at": triggered_at.isoformat(),
        "role_changes_in_window": changes,
        "role_change_threshold": thresholds.reorganization_role_changes,
        "window_days": thresholds.reorganization_window.days,
        "quiet_window_days": thresholds.reorganization_quiet_window.days,
        "quiet_until": quiet_until.isoformat(),
    }
    if acknowledged and acknowledged_at is not None:
        evidence["acknowledged_at"] = acknowledged_at.isoformat()
    active = not acknowledged and now < quiet_until
    return _decide(SignalType.REORGANIZATION, account_id, is_open, active, evidence)


def _latest_trigger(
    reorganized_at: Iterable[datetime],
    role_changed_at: Iterable[datetime],
    now: datetime,
    thresholds: RiskThresholds,
) -> tuple[datetime, str, int] | None:
    """(when, cause, role changes in the window ending then) of the latest trigger up to now."""
    triggers = [(moment, REORGANIZATION_EVENT, 0) for moment in reorganized_at if moment <= now]
    changes = sorted(moment for moment in role_changed_at if moment <= now)
    for i, moment in enumerate(changes):
        in_window = i + 1 - bisect_left(changes, moment - thresholds.reorganization_window)
        if in_window >= thresholds.reorganization_role_changes:
            triggers.append((moment, "role_changes", in_window))
    return max(triggers, default=None)


def no_adoption_owner(
    plan: SuccessPlan, stakeholders: Iterable[Stakeholder], *, is_open: bool
) -> Decision:
    """Raised while the plan names no adoption owner or its owner departed."""
    owner = plan.adoption_owner_id
    person = next((p for p in stakeholders if p.person_id == owner), None)
    evidence: dict[str, Any] = {"plan_id": plan.id, "adoption_owner_id": owner}
    if owner is None:
        evidence["reason"] = "unassigned"
    elif person is not None and not person.is_active:
        evidence.update(reason="departed", departed_at=person.changed_at.isoformat())
    active = "reason" in evidence
    return _decide(SignalType.NO_ADOPTION_OWNER, plan.id, is_open, active, evidence)


def adoption_drop(
    usage: Series,
    *,
    is_open: bool,
    raised_baseline: float | None = None,
    thresholds: RiskThresholds = RiskThresholds(),
) -> Decision:
    """Raised when the latest period falls ``adoption_drop_share`` below the trailing mean.

    ``usage`` ends at the last complete period. While open, recovery is measured against
    ``raised_baseline`` (the trailing mean in the open signal's evidence) when given, so that
    usage staying low does not "recover" just because the trailing mean sank with it.
    """
    window = thresholds.adoption_trailing_periods
    recent = usage.values[-window - 1 :]
    if len(recent) < window + 1 or any(value is None for value in recent):
        return NoChange(SignalType.ADOPTION_DROP, usage.metric)
    known = [value for value in recent if value is not None]
    current = known[-1]
    trailing_mean = sum(known[:-1]) / window
    baseline = raised_baseline if is_open and raised_baseline is not None else trailing_mean
    floor = (1 - thresholds.adoption_drop_share) * baseline
    evidence = {
        "metric": usage.metric,
        "period": usage.keys[-1],
        "value": current,
        "trailing_periods": list(usage.keys[-window - 1 : -1]),
        "trailing_mean": trailing_mean,
        "baseline": baseline,
        "drop_share_threshold": thresholds.adoption_drop_share,
        "floor": floor,
    }
    return _decide(
        SignalType.ADOPTION_DROP, usage.metric, is_open, baseline > 0 and current < floor, evidence
    )


def activity_off_track(
    activity: ActivityTarget,
    series: Series,
    *,
    is_open: bool,
    thresholds: RiskThresholds = RiskThresholds(),
) -> Decision:
    """Raised after ``off_track_periods`` consecutive missed periods; resolved by one on target.

    ``series`` holds the activity's aggregated values since the plan started, up to the last
    complete period. An unknown latest value (a level nobody reported) decides nothing.
    """
    needed = thresholds.off_track_periods
    keys, values = series.keys[-needed:], series.values[-needed:]
    latest = values[-1] if values else None
    # ``activity``, ``target``, ``actual`` and ``unit`` are the contract the notifier words its
    # recommendation from (shared/signals.py); the rest explains the decision.
    evidence = {
        "activity": activity.metric,
        "title": activity.title,
        "target": activity.target_per_period,
        "actual": latest,
        "unit": None,
        "period": keys[-1] if keys else None,
        "metric": activity.metric,
        "direction": activity.direction.value,
        "target_per_period": activity.target_per_period,
        "consecutive_periods_threshold": needed,
        "periods": dict(zip(keys, values, strict=True)),
    }
    if latest is None:
        active: bool | None = None
    elif activity.is_on_target(latest):
        active = False
    elif len(values) == needed and all(
        value is not None and not activity.is_on_target(value) for value in values
    ):
        active = True
    else:
        active = None
    return _decide(SignalType.ACTIVITY_OFF_TRACK, activity.metric, is_open, active, evidence)


def objective_at_risk(
    objective: Objective, projection: Projection | InsufficientEvidence, *, is_open: bool
) -> Decision:
    """Raised while the projection misses the target at the deadline; no projection, no change."""
    if isinstance(projection, InsufficientEvidence):
        return NoChange(SignalType.OBJECTIVE_AT_RISK, objective.metric)
    evidence = {
        "metric": objective.metric,
        "direction": objective.direction.value,
        "baseline": objective.baseline,
        "target": objective.target,
        "deadline": objective.deadline.isoformat(),
        "deadline_period": projection.deadline_period,
        "projected_value": projection.projected_value,
        "slope_per_period": projection.slope,
        "latest_period": projection.latest_period,
        "latest_value": projection.latest_value,
        "progress": projection.progress,
        "points": projection.points,
    }
    return _decide(
        SignalType.OBJECTIVE_AT_RISK,
        objective.metric,
        is_open,
        not projection.meets_target,
        evidence,
    )


def blocker_reported(event: Envelope, *, is_open: bool) -> Decision:
    """Raised by ``blocker.reported``, resolved by ``blocker.resolved`` with the same blocker_id.

    Raises ValueError for another event or one without ``properties.blocker_id``.
    """
    blocker_id = event.properties.get("blocker_id")
    if event.name not in (BLOCKER_REPORTED_EVENT, BLOCKER_RESOLVED_EVENT) or not blocker_id:
        raise ValueError(f"{event.name} event {event.id} does not name a blocker_id")
    evidence = {
        "blocker_id": str(blocker_id),
        "event_id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "properties": dict(event.properties),
    }
    return _decide(
        SignalType.BLOCKER_REPORTED,
        str(blocker_id),
        is_open,
        event.name == BLOCKER_REPORTED_EVENT,
        evidence,
    )


def objective_achieved(objective: Objective, series: Series, *, is_open: bool) -> Decision:
    """Raised once the latest value reaches the target; final, so it never resolves.

    ``is_open`` is whether it was already raised for this objective.
    """
    latest = series.latest()
    reached = latest is not None and objective.is_met_by(latest[1])
    evidence = {"metric": objective.metric, "target": objective.target}
    if latest is not None:
        evidence.update(period=latest[0], value=latest[1])
    return _decide(
        SignalType.OBJECTIVE_ACHIEVED,
        objective.metric,
        is_open,
        True if reached else None,
        evidence,
    )
