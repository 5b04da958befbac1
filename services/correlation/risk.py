"""Risk and milestone rules: each decides raise, resolve or no change for one (type, subject).

Every rule is told whether its signal is open, so one subject never has two open signals of a
type: a rule raises only when closed and resolves only when open. Evidence carries the values,
thresholds and periods or dates behind the decision so the notifier can explain it.

Subjects: the account id for sponsor_departure and reorganization, the plan id for
no_adoption_owner, the metric for adoption_drop, activity_off_track, objective_at_risk and
objective_achieved, the ``blocker_id`` property for blocker_reported. The drop test is
``drops``'s and the activity-off-track rule ``off_track``'s; both decide through ``decide``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.correlation.buckets import period_end
from services.correlation.drops import (
    DropRule,
    critical_z,
    has_recovered,
    is_drop,
    strongest_drop,
)
from services.correlation.plans import (
    Objective,
    Stakeholder,
    StakeholderRole,
    SuccessPlan,
)
from services.correlation.projection import Projection
from services.correlation.series import InsufficientEvidence, Series
from shared.clock import timestamp
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
    reorganization_quiet_window: timedelta = timedelta(days=180)
    drop: DropRule = field(default_factory=DropRule)
    off_track_periods: int = 3
    off_track_tolerance: float = 0.2
    off_track_z: float = 1.5
    min_history: int = 6
    achieved_periods: int = 2
    projection_min_points: int = 6
    projection_confidence: float = 0.98


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
class Update:
    """The signal of ``subject`` stays open; its evidence is replaced by the current data."""

    signal_type: SignalType
    subject: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class NoChange:
    """Leave the signal of ``subject`` as it is (open or not)."""

    signal_type: SignalType
    subject: str


Decision = Raise | Resolve | Update | NoChange


def decide(
    signal_type: SignalType,
    subject: str,
    is_open: bool,
    active: bool | None,
    evidence: Mapping[str, Any],
) -> Decision:
    """``active`` is whether the risk condition holds now, None when the data cannot say.

    An open signal whose condition has not ended gets the current evidence (``Update``), so
    what a CSM reads is always the stored data, never the data of the day it was raised.
    """
    if active is True and not is_open:
        return Raise(signal_type, subject, evidence)
    if active is False and is_open:
        return Resolve(signal_type, subject, evidence)
    if is_open and evidence:
        return Update(signal_type, subject, evidence)
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
        current = sorted((p for p in sponsors if p.is_active), key=lambda p: p.person_id)
        evidence: dict[str, Any] = {
            "sponsor_ids": active,
            "sponsors": [p.described() for p in current],
            # When the account had a sponsor again, in event time (what a resolve dates to).
            "since": timestamp(max(p.changed_at for p in current)),
        }
        condition: bool | None = False
    elif departed:
        evidence = {
            "departed_sponsor_ids": [person.person_id for person in departed],
            "departed_sponsors": [person.described() for person in departed],
            "departed_at": timestamp(departed[-1].changed_at),
        }
        condition = True
    else:
        evidence, condition = {}, None
    return decide(SignalType.SPONSOR_DEPARTURE, account_id, is_open, condition, evidence)


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
        return decide(SignalType.REORGANIZATION, account_id, is_open, False, {})
    triggered_at, cause, changes = trigger
    quiet_until = triggered_at + thresholds.reorganization_quiet_window
    acknowledged = acknowledged_at is not None and acknowledged_at >= triggered_at
    evidence: dict[str, Any] = {
        "cause": cause,
        "triggered_at": timestamp(triggered_at),
        "role_changes_in_window": changes,
        "role_change_threshold": thresholds.reorganization_role_changes,
        "window_days": thresholds.reorganization_window.days,
        "quiet_window_days": thresholds.reorganization_quiet_window.days,
        "quiet_until": timestamp(quiet_until),
    }
    if acknowledged and acknowledged_at is not None:
        evidence["acknowledged_at"] = timestamp(acknowledged_at)
        evidence["since"] = timestamp(acknowledged_at)
    elif now >= quiet_until:
        evidence["since"] = timestamp(quiet_until)
    active = not acknowledged and now < quiet_until
    return decide(SignalType.REORGANIZATION, account_id, is_open, active, evidence)


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
    """Raised while the account has no active adoption owner: the plan's owner (or, when the
    plan names none, everyone the events call adoption owner) departed without a successor,
    or there never was one."""
    people = list(stakeholders)
    owner = plan.adoption_owner_id
    owners = [
        p
        for p in people
        if p.person_id == owner or (p.role is StakeholderRole.ADOPTION_OWNER and p.is_active)
    ]
    if owner is None:
        owners += [p for p in people if p.role is StakeholderRole.ADOPTION_OWNER]
    active = sorted({p.person_id for p in owners if p.is_active})
    if owner is not None and all(p.person_id != owner for p in people):
        active.append(owner)  # named by the plan, not seen in an event yet: still assigned
    departed = sorted((p for p in owners if not p.is_active), key=lambda p: p.changed_at)
    evidence: dict[str, Any] = {"plan_id": plan.id, "adoption_owner_id": owner}
    if active:
        evidence["adoption_owner_ids"] = active
        known = [p.changed_at for p in owners if p.is_active]
        if known:
            evidence["since"] = timestamp(max(known))
    elif departed:
        evidence.update(
            reason="departed",
            departed_owner_ids=[p.person_id for p in departed],
            departed_owners=[p.described() for p in departed],
            departed_at=timestamp(departed[-1].changed_at),
        )
    else:
        evidence["reason"] = "unassigned"
    return decide(SignalType.NO_ADOPTION_OWNER, plan.id, is_open, "reason" in evidence, evidence)


def adoption_drop(
    usage: Series, *, is_open: bool, thresholds: RiskThresholds = RiskThresholds()
) -> Decision:
    """Raised on a lasting drop of usage beyond the account's own noise (``drops``).

    ``usage`` holds the complete periods only (counts). While open, the drop resolves once the
    last periods are back within noise of the baseline before the change point: that baseline
    lies before the drop, so usage staying low never "recovers" by a baseline sinking with it,
    and the evidence is always today's reading of the stored periods, whenever it was raised.
    """
    rule = thresholds.drop
    counts = [value or 0.0 for value in usage.values]
    test = strongest_drop(counts, rule)
    if test is None:
        return NoChange(SignalType.ADOPTION_DROP, usage.metric)
    window = rule.recovery_periods
    evidence: dict[str, Any] = {
        "metric": usage.metric,
        "period": usage.keys[-1],
        "value": counts[-1],
        "z_threshold": critical_z(rule.z_single if test.periods == 1 else rule.z_threshold, test),
        "min_drop_share": rule.min_drop_share,
        "drop_started": usage.keys[test.start],
        "periods": dict(zip(usage.keys[test.start :], counts[test.start :], strict=True)),
        "baseline_periods": list(usage.keys[test.baseline_start : test.start]),
        "baseline_mean": test.baseline_mean,
        "dispersion": test.dispersion,
        "recent_mean": test.recent_mean,
        "drop_share": test.share,
        "z": test.z,
        "z_without_lowest_period": test.z_without_lowest,
    }
    evidence["recovery_periods"] = dict(zip(usage.keys[-window:], counts[-window:], strict=True))
    if is_open:
        recovered = has_recovered(counts, test.baseline_mean, test.dispersion, rule)
        return decide(SignalType.ADOPTION_DROP, usage.metric, is_open, not recovered, evidence)
    return decide(SignalType.ADOPTION_DROP, usage.metric, is_open, is_drop(test, rule), evidence)


def objective_at_risk(
    objective: Objective, projection: Projection | InsufficientEvidence, *, is_open: bool
) -> Decision:
    """Raised while the target lies beyond the projection's prediction interval at the deadline
    (even the optimistic end misses it); resolved once it does not. A projection without
    enough points says nothing (insufficient evidence is not "at risk")."""
    if isinstance(projection, InsufficientEvidence):
        return NoChange(SignalType.OBJECTIVE_AT_RISK, objective.metric)
    evidence = {
        "metric": objective.metric,
        "title": objective.title,
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
        "interval_low": projection.interval_low,
        "interval_high": projection.interval_high,
        "interval_confidence": projection.confidence,
    }
    return decide(
        SignalType.OBJECTIVE_AT_RISK,
        objective.metric,
        is_open,
        projection.surely_misses_target,
        evidence,
    )


def blocker_reported(
    event: Envelope, *, is_open: bool, latest_at: datetime | None = None
) -> Decision:
    """Raised by ``blocker.reported``, resolved by ``blocker.resolved`` with the same blocker_id.

    ``latest_at`` is when the latest event about this blocker applied so far happened: one
    older than that arrived late (a backfill sent out of order) and changes nothing, so a
    report that arrives after its own resolution does not reopen the blocker.

    Raises ValueError for another event or one without ``properties.blocker_id``.
    """
    blocker_id = event.properties.get("blocker_id")
    if event.name not in (BLOCKER_REPORTED_EVENT, BLOCKER_RESOLVED_EVENT) or not blocker_id:
        raise ValueError(f"{event.name} event {event.id} does not name a blocker_id")
    if latest_at is not None and event.occurred_at < latest_at:
        return NoChange(SignalType.BLOCKER_REPORTED, str(blocker_id))
    evidence = {
        "blocker_id": str(blocker_id),
        "event_id": event.id,
        "occurred_at": timestamp(event.occurred_at),
        "properties": dict(event.properties),
    }
    return decide(
        SignalType.BLOCKER_REPORTED,
        str(blocker_id),
        is_open,
        event.name == BLOCKER_REPORTED_EVENT,
        evidence,
    )


def objective_achieved(
    objective: Objective,
    series: Series,
    *,
    is_open: bool,
    thresholds: RiskThresholds = RiskThresholds(),
) -> Decision:
    """Raised once the target was held for ``achieved_periods`` known periods in a row (one
    noisy period proves nothing); final, so it never resolves. The whole series is read, so a
    history replayed at once finds the arrival a weekly evaluation would have found when it
    happened, and the evidence dates it (``reached_at``: the end of the last period held).

    ``is_open`` is whether it was already raised for this objective.
    """
    if is_open:
        return NoChange(SignalType.OBJECTIVE_ACHIEVED, objective.metric)
    held = achieved_periods(objective, series, thresholds.achieved_periods)
    if held is None:
        return NoChange(SignalType.OBJECTIVE_ACHIEVED, objective.metric)
    evidence: dict[str, Any] = {
        "metric": objective.metric,
        "title": objective.title,
        "target": objective.target,
        "periods_required": thresholds.achieved_periods,
        "periods": dict(held),
        "period": held[-1][0],
        "value": held[-1][1],
        "reached_at": timestamp(period_end(held[-1][0], series.unit)),
    }
    return decide(SignalType.OBJECTIVE_ACHIEVED, objective.metric, is_open, True, evidence)


def achieved_periods(
    objective: Objective, series: Series, needed: int
) -> list[tuple[str, float]] | None:
    """The first ``needed`` known periods in a row that all reach the target, or None."""
    run: list[tuple[str, float]] = []
    for key, value in zip(series.keys, series.values, strict=True):
        if value is None:
            continue
        run = [*run, (key, value)] if objective.is_met_by(value) else []
        if len(run) == needed:
            return run
    return None
