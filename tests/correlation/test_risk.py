from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.correlation.buckets import PeriodUnit, period_range, shift_period
from services.correlation.plans import (
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
    Direction,
    Objective,
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from services.correlation.projection import project_objective
from services.correlation.risk import (
    NoChange,
    Raise,
    Resolve,
    RiskThresholds,
    activity_off_track,
    adoption_drop,
    blocker_reported,
    no_adoption_owner,
    objective_achieved,
    objective_at_risk,
    reorganization,
    sponsor_departure,
)
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series
from shared.events import Envelope, EventKind, EventSource
from shared.signals import GpsCategory, SignalType

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _person(
    person_id: str, role: StakeholderRole, status: StakeholderStatus = StakeholderStatus.ACTIVE
) -> Stakeholder:
    return Stakeholder(person_id, role, status, _days_ago(2))


def _weekly(metric: str, values: list[float | None]) -> Series:
    keys = period_range("2024-W01", shift_period("2024-W01", len(values) - 1))
    return Series(metric, PeriodUnit.WEEK, keys, tuple(values))


# sponsor_departure

DEPARTED_SPONSOR = _person("ann", StakeholderRole.SPONSOR, StakeholderStatus.DEPARTED)


def test_departed_sponsor_without_successor_raises_bad_weather() -> None:
    decision = sponsor_departure("acme", [DEPARTED_SPONSOR], is_open=False)
    assert isinstance(decision, Raise)
    assert (decision.signal_type, decision.subject) == (SignalType.SPONSOR_DEPARTURE, "acme")
    assert decision.category is GpsCategory.BAD_WEATHER
    assert decision.evidence["departed_sponsor_ids"] == ["ann"]


def test_open_sponsor_departure_is_not_raised_twice() -> None:
    assert isinstance(sponsor_departure("acme", [DEPARTED_SPONSOR], is_open=True), NoChange)


def test_new_sponsor_resolves_departure() -> None:
    people = [DEPARTED_SPONSOR, _person("bob", StakeholderRole.SPONSOR)]
    decision = sponsor_departure("acme", people, is_open=True)
    assert isinstance(decision, Resolve)
    assert decision.evidence == {"sponsor_ids": ["bob"]}
    assert isinstance(sponsor_departure("acme", people, is_open=False), NoChange)


def test_account_that_never_had_a_sponsor_has_no_departure() -> None:
    people = [_person("cid", StakeholderRole.SUPERVISOR, StakeholderStatus.DEPARTED)]
    assert isinstance(sponsor_departure("acme", people, is_open=False), NoChange)


# reorganization


def _reorg(
    *,
    reorganized: Sequence[datetime] = (),
    role_changes: Sequence[datetime] = (),
    acknowledged_at: datetime | None = None,
    now: datetime = NOW,
    is_open: bool = False,
) -> Raise | Resolve | NoChange:
    return reorganization(
        "acme",
        reorganized_at=reorganized,
        role_changed_at=role_changes,
        acknowledged_at=acknowledged_at,
        now=now,
        is_open=is_open,
    )


def test_org_reorganized_event_raises_and_is_not_raised_twice() -> None:
    decision = _reorg(reorganized=[_days_ago(1)])
    assert isinstance(decision, Raise)
    assert decision.evidence["cause"] == "org.reorganized"
    assert decision.evidence["quiet_until"] == (_days_ago(1) + timedelta(days=30)).isoformat()
    assert isinstance(_reorg(reorganized=[_days_ago(1)], is_open=True), NoChange)


def test_three_role_changes_within_thirty_days_raise() -> None:
    # first to last change: 31 - 1 = 30 days, the window's edge included
    decision = _reorg(role_changes=[_days_ago(31), _days_ago(10), _days_ago(1)])
    assert isinstance(decision, Raise)
    assert decision.evidence["cause"] == "role_changes"
    assert decision.evidence["role_changes_in_window"] == 3


def test_three_role_changes_spread_over_more_than_thirty_days_do_not_raise() -> None:
    # 32 - 1 = 31 days: at most two changes fall in any 30-day window
    assert isinstance(_reorg(role_changes=[_days_ago(32), _days_ago(10), _days_ago(1)]), NoChange)


def test_role_changes_after_now_are_ignored() -> None:
    future = [NOW + timedelta(days=d) for d in (1, 2)]
    assert isinstance(_reorg(role_changes=[_days_ago(1), *future]), NoChange)


def test_reorganization_resolves_after_the_quiet_window() -> None:
    assert isinstance(_reorg(reorganized=[_days_ago(29)], is_open=True), NoChange)
    decision = _reorg(reorganized=[_days_ago(30)], is_open=True)
    assert isinstance(decision, Resolve)
    # a stale trigger does not raise a new signal either
    assert isinstance(_reorg(reorganized=[_days_ago(30)]), NoChange)


def test_acknowledged_reorganization_resolves_until_the_next_trigger() -> None:
    acked = _reorg(reorganized=[_days_ago(5)], acknowledged_at=_days_ago(2), is_open=True)
    assert isinstance(acked, Resolve)
    assert acked.evidence["acknowledged_at"] == _days_ago(2).isoformat()
    again = _reorg(reorganized=[_days_ago(5), _days_ago(1)], acknowledged_at=_days_ago(2))
    assert isinstance(again, Raise)


# no_adoption_owner


def _plan(owner: str | None) -> SuccessPlan:
    objective = Objective(
        metric="conversion",
        baseline=1,
        target=2,
        direction=Direction.UP,
        deadline=date(2024, 12, 1),
    )
    return SuccessPlan(
        id="plan-1", account_id="acme", objectives=(objective,), adoption_owner_id=owner
    )


def test_plan_without_owner_raises_roadblock() -> None:
    decision = no_adoption_owner(_plan(None), [], is_open=False)
    assert isinstance(decision, Raise)
    assert decision.subject == "plan-1"
    assert decision.category is GpsCategory.ROADBLOCK
    assert decision.evidence["reason"] == "unassigned"
    assert isinstance(no_adoption_owner(_plan(None), [], is_open=True), NoChange)


def test_departed_owner_raises() -> None:
    owner = _person("dee", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.DEPARTED)
    decision = no_adoption_owner(_plan("dee"), [owner], is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["reason"] == "departed"


def test_assigned_owner_resolves() -> None:
    owner = _person("eve", StakeholderRole.ADOPTION_OWNER)
    assert isinstance(no_adoption_owner(_plan("eve"), [owner], is_open=True), Resolve)
    assert isinstance(no_adoption_owner(_plan("eve"), [owner], is_open=False), NoChange)


# adoption_drop: trailing mean of 4 periods, 30% drop


def test_usage_thirty_percent_below_trailing_mean_raises() -> None:
    # mean(100, 120, 80, 100) = 100; floor = 0.7 * 100 = 70; 69 < 70
    decision = adoption_drop(_weekly("logins", [100, 120, 80, 100, 69]), is_open=False)
    assert isinstance(decision, Raise)
    assert decision.subject == "logins"
    assert decision.evidence["trailing_mean"] == pytest.approx(100)
    assert decision.evidence["floor"] == pytest.approx(70)
    assert decision.evidence["period"] == "2024-W05"
    assert isinstance(
        adoption_drop(_weekly("logins", [100, 120, 80, 100, 69]), is_open=True), NoChange
    )


def test_usage_at_the_floor_does_not_raise() -> None:
    assert isinstance(
        adoption_drop(_weekly("logins", [100, 120, 80, 100, 70]), is_open=False), NoChange
    )


def test_recovered_usage_resolves_against_the_baseline_at_raise_time() -> None:
    # raised with baseline 100 (floor 70); 75 >= 70
    decision = adoption_drop(
        _weekly("logins", [100, 100, 100, 69, 75]), is_open=True, raised_baseline=100
    )
    assert isinstance(decision, Resolve)


def test_usage_staying_low_does_not_recover_as_the_trailing_mean_sinks() -> None:
    # rolling: mean(100, 60, 60, 60) = 70, floor 49, 60 would count as recovered;
    # against the raise-time baseline 100 the floor stays 70, so 60 is still a drop
    usage = _weekly("logins", [100, 60, 60, 60, 60])
    assert isinstance(adoption_drop(usage, is_open=True, raised_baseline=100), NoChange)
    assert isinstance(adoption_drop(usage, is_open=True), Resolve)


def test_adoption_drop_needs_a_full_trailing_window_and_some_usage() -> None:
    assert isinstance(
        adoption_drop(_weekly("logins", [100, 100, 100, 10]), is_open=False), NoChange
    )
    assert isinstance(adoption_drop(_weekly("logins", [0, 0, 0, 0, 0]), is_open=False), NoChange)


def test_adoption_drop_thresholds_are_configurable() -> None:
    thresholds = RiskThresholds(adoption_drop_share=0.5, adoption_trailing_periods=2)
    # mean(100, 100) = 100; floor 50; 60 is not a drop at 50%, 40 is
    assert isinstance(
        adoption_drop(_weekly("l", [100, 100, 60]), is_open=False, thresholds=thresholds), NoChange
    )
    assert isinstance(
        adoption_drop(_weekly("l", [100, 100, 40]), is_open=False, thresholds=thresholds), Raise
    )


# activity_off_track: 2 consecutive periods


def _activity(direction: ActivityDirection, target: float) -> ActivityTarget:
    return ActivityTarget(
        metric="contacts",
        category=ActivityCategory.PROCESS,
        target_per_period=target,
        direction=direction,
    )


INCREASE = _activity(ActivityDirection.INCREASE, 25)


def test_two_missed_periods_raise_reroute() -> None:
    decision = activity_off_track(INCREASE, _weekly("contacts", [30, 20, 24]), is_open=False)
    assert isinstance(decision, Raise)
    assert decision.category is GpsCategory.REROUTE
    assert decision.evidence["periods"] == {"2024-W02": 20, "2024-W03": 24}
    # What the notifier words its recommendation from (shared/signals.py).
    assert (decision.evidence["target"], decision.evidence["actual"]) == (25, 24)
    assert decision.evidence["period"] == "2024-W03"
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", [30, 20, 24]), is_open=True), NoChange
    )


def test_one_missed_period_is_not_off_track() -> None:
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", [20, 26, 24]), is_open=False), NoChange
    )
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", [24]), is_open=False), NoChange
    )


def test_period_back_on_target_resolves() -> None:
    decision = activity_off_track(INCREASE, _weekly("contacts", [20, 24, 25]), is_open=True)
    assert isinstance(decision, Resolve)


def test_stopped_activity_is_off_track_while_it_still_happens() -> None:
    stop = _activity(ActivityDirection.STOP, 0)
    assert isinstance(
        activity_off_track(stop, _weekly("cold_calls", [0, 1, 2]), is_open=False), Raise
    )
    assert isinstance(
        activity_off_track(stop, _weekly("cold_calls", [1, 2, 0]), is_open=True), Resolve
    )


def test_decrease_is_off_track_above_its_target() -> None:
    decrease = _activity(ActivityDirection.DECREASE, 5)
    assert isinstance(
        activity_off_track(decrease, _weekly("bounces", [6, 7]), is_open=False), Raise
    )
    assert isinstance(
        activity_off_track(decrease, _weekly("bounces", [6, 5]), is_open=True), Resolve
    )


def test_unknown_latest_level_decides_nothing() -> None:
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", [20, None]), is_open=True), NoChange
    )
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", [None, 20]), is_open=False), NoChange
    )


def test_stopped_activity_must_target_zero() -> None:
    with pytest.raises(ValidationError, match="target of 0"):
        _activity(ActivityDirection.STOP, 1)


def test_plan_metrics_must_be_unique() -> None:
    with pytest.raises(ValidationError, match="itinerary"):
        SuccessPlan(
            id="p",
            account_id="a",
            objectives=_plan(None).objectives,
            itinerary=(INCREASE, INCREASE),
        )


# objective_at_risk

OBJECTIVE = Objective(
    metric="conversion",
    baseline=2.2,
    target=3.2,
    direction=Direction.UP,
    deadline=date(2024, 3, 27),
)


def test_projection_missing_the_target_raises_and_meeting_it_resolves() -> None:
    # deadline in W13 = position 12; +0.05/week -> 2.8 < 3.2; +0.1/week -> 3.4 >= 3.2
    slow = project_objective(OBJECTIVE, _weekly("conversion", [2.2 + 0.05 * i for i in range(6)]))
    fast = project_objective(OBJECTIVE, _weekly("conversion", [2.2 + 0.1 * i for i in range(6)]))
    raised = objective_at_risk(OBJECTIVE, slow, is_open=False)
    assert isinstance(raised, Raise)
    assert raised.category is GpsCategory.ACCIDENT_AHEAD
    assert raised.evidence["projected_value"] == pytest.approx(2.8)
    assert raised.evidence["deadline_period"] == "2024-W13"
    assert isinstance(objective_at_risk(OBJECTIVE, slow, is_open=True), NoChange)
    assert isinstance(objective_at_risk(OBJECTIVE, fast, is_open=True), Resolve)
    assert isinstance(objective_at_risk(OBJECTIVE, fast, is_open=False), NoChange)


def test_no_projection_decides_nothing() -> None:
    gap = InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, 1, 4)
    assert isinstance(objective_at_risk(OBJECTIVE, gap, is_open=True), NoChange)


# blocker_reported


def _event(name: str, properties: dict[str, object]) -> Envelope:
    return Envelope(
        tenant_id="t",
        account_id="acme",
        kind=EventKind.LIFECYCLE,
        name=name,
        properties=properties,
        occurred_at=NOW,
        received_at=NOW,
        source=EventSource.REST,
    )


def test_reported_blocker_raises_once_and_resolved_blocker_resolves() -> None:
    reported = _event("blocker.reported", {"blocker_id": "b-7", "title": "SSO broken"})
    decision = blocker_reported(reported, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.subject == "b-7"
    assert decision.evidence["properties"]["title"] == "SSO broken"
    assert isinstance(blocker_reported(reported, is_open=True), NoChange)
    resolved = _event("blocker.resolved", {"blocker_id": "b-7"})
    assert isinstance(blocker_reported(resolved, is_open=True), Resolve)
    assert isinstance(blocker_reported(resolved, is_open=False), NoChange)


def test_blocker_event_without_id_is_refused() -> None:
    with pytest.raises(ValueError, match="blocker_id"):
        blocker_reported(_event("blocker.reported", {}), is_open=False)
    with pytest.raises(ValueError):
        blocker_reported(_event("org.reorganized", {"blocker_id": "b"}), is_open=False)


# objective_achieved


def test_reaching_the_target_raises_arrived_once_and_never_resolves() -> None:
    reached = _weekly("conversion", [2.9, 3.3, None])
    decision = objective_achieved(OBJECTIVE, reached, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.category is GpsCategory.ARRIVED
    assert (decision.evidence["period"], decision.evidence["value"]) == ("2024-W02", 3.3)
    assert isinstance(objective_achieved(OBJECTIVE, reached, is_open=True), NoChange)
    fell_back = _weekly("conversion", [3.3, 2.9])
    assert isinstance(objective_achieved(OBJECTIVE, fell_back, is_open=True), NoChange)
    assert isinstance(objective_achieved(OBJECTIVE, fell_back, is_open=False), NoChange)
