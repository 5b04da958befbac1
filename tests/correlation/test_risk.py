import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from scipy import stats

from services.correlation.buckets import PeriodUnit, period_range, shift_period
from services.correlation.drops import DropRule, critical_z, drop_test, is_poisson
from services.correlation.off_track import activity_off_track
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
    Update,
    adoption_drop,
    blocker_reported,
    no_adoption_owner,
    objective_achieved,
    objective_at_risk,
    reorganization,
    sponsor_departure,
)
from services.correlation.series import EvidenceGap, InsufficientEvidence, Series
from shared.clock import timestamp
from shared.events import Envelope, EventKind, EventSource
from shared.signals import GpsCategory, SignalType

NOW = datetime(2024, 6, 1, tzinfo=UTC)


KEPT = (Update, NoChange)  # an open signal is neither raised again nor resolved


def _days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def _person(
    person_id: str, role: StakeholderRole, status: StakeholderStatus = StakeholderStatus.ACTIVE
) -> Stakeholder:
    return Stakeholder(person_id, role, status, _days_ago(2))


def _weekly(metric: str, values: Sequence[float | None]) -> Series:
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
    assert isinstance(sponsor_departure("acme", [DEPARTED_SPONSOR], is_open=True), KEPT)


def test_new_sponsor_resolves_departure() -> None:
    people = [DEPARTED_SPONSOR, _person("bob", StakeholderRole.SPONSOR)]
    decision = sponsor_departure("acme", people, is_open=True)
    assert isinstance(decision, Resolve)
    assert decision.evidence == {
        "sponsor_ids": ["bob"],
        "sponsors": [{"person_id": "bob", "name": None, "title": None}],
        "since": timestamp(_days_ago(2)),  # the successor's arrival, in event time
    }
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
) -> Raise | Resolve | Update | NoChange:
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
    quiet = RiskThresholds().reorganization_quiet_window
    assert decision.evidence["quiet_until"] == timestamp(_days_ago(1) + quiet)
    assert isinstance(_reorg(reorganized=[_days_ago(1)], is_open=True), KEPT)


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
    quiet = RiskThresholds().reorganization_quiet_window.days
    assert isinstance(_reorg(reorganized=[_days_ago(quiet - 1)], is_open=True), KEPT)
    decision = _reorg(reorganized=[_days_ago(quiet)], is_open=True)
    assert isinstance(decision, Resolve)
    # a stale trigger does not raise a new signal either
    assert isinstance(_reorg(reorganized=[_days_ago(quiet)]), NoChange)


def test_a_reorganization_months_old_in_a_backfilled_history_still_reaches_the_csm() -> None:
    decision = _reorg(reorganized=[_days_ago(130)])
    assert isinstance(decision, Raise)
    assert decision.evidence["triggered_at"] == timestamp(_days_ago(130))


def test_acknowledged_reorganization_resolves_until_the_next_trigger() -> None:
    acked = _reorg(reorganized=[_days_ago(5)], acknowledged_at=_days_ago(2), is_open=True)
    assert isinstance(acked, Resolve)
    assert acked.evidence["acknowledged_at"] == timestamp(_days_ago(2))
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
    assert isinstance(no_adoption_owner(_plan(None), [], is_open=True), KEPT)


def test_departed_owner_raises() -> None:
    owner = _person("dee", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.DEPARTED)
    decision = no_adoption_owner(_plan("dee"), [owner], is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["reason"] == "departed"


def test_assigned_owner_resolves() -> None:
    owner = _person("eve", StakeholderRole.ADOPTION_OWNER)
    assert isinstance(no_adoption_owner(_plan("eve"), [owner], is_open=True), Resolve)
    assert isinstance(no_adoption_owner(_plan("eve"), [owner], is_open=False), NoChange)


# adoption_drop: a lasting drop beyond the account's own noise (services/correlation/drops.py)


def test_a_lasting_drop_raises_with_the_stored_weeks_as_evidence() -> None:
    usage = _weekly("$usage", [100, 104, 97, 99, 102, 98, 101, 60, 58, 61])
    decision = adoption_drop(usage, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.category is GpsCategory.ACCIDENT_AHEAD
    assert decision.evidence["drop_started"] == "2024-W08"
    assert decision.evidence["periods"] == {"2024-W08": 60, "2024-W09": 58, "2024-W10": 61}
    assert decision.evidence["baseline_mean"] == pytest.approx(701 / 7)
    assert decision.evidence["drop_share"] == pytest.approx(1 - (179 / 3) / (701 / 7))


def test_a_drop_that_started_ten_weeks_ago_is_still_seen() -> None:
    usage = _weekly("$usage", [50, 53, 48, 51, 49, 52, 50, 30, 31, 29, 30, 32, 28, 30, 31, 29, 30])
    decision = adoption_drop(usage, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["drop_started"] == "2024-W08"


def test_the_same_share_is_noise_for_a_small_account_and_a_drop_for_a_large_one() -> None:
    small = _weekly("$usage", [15, 12, 18, 14, 16, 13, 17, 10, 11])
    large = _weekly("$usage", [1500, 1480, 1520, 1490, 1510, 1505, 1495, 1000, 1050])
    assert isinstance(adoption_drop(small, is_open=False), NoChange)
    assert isinstance(adoption_drop(large, is_open=False), Raise)


def test_a_dispersed_account_needs_more_than_one_low_week() -> None:
    noisy = _weekly("$usage", [80, 130, 95, 150, 70, 120, 100, 65])
    assert isinstance(adoption_drop(noisy, is_open=False), NoChange)


def test_an_open_drop_resolves_only_when_back_to_the_baseline_before_it() -> None:
    before = [100, 104, 97, 99, 102, 98, 101]
    still_low = _weekly("$usage", [*before, 60, 58, 61, 59, 60, 57, 62, 58, 60, 59, 61])
    kept = adoption_drop(still_low, is_open=True)
    assert isinstance(kept, Update)
    assert kept.evidence["baseline_mean"] == pytest.approx(701 / 7)  # not sunk with the drop
    assert kept.evidence["recovery_periods"] == {"2024-W17": 59, "2024-W18": 61}
    half_way = _weekly("$usage", [*before, 60, 58, 61, 80, 82])
    assert isinstance(adoption_drop(half_way, is_open=True), Update)
    back = _weekly("$usage", [*before, 60, 58, 61, 97, 102])
    assert isinstance(adoption_drop(back, is_open=True), Resolve)


def test_a_single_low_week_needs_stronger_evidence_than_a_run() -> None:
    # 30% down in one week of about 100 is 2.9 standard errors: noise for one period...
    dip = _weekly("$usage", [100, 104, 97, 99, 102, 98, 101, 99, 103, 70])
    assert isinstance(adoption_drop(dip, is_open=False), NoChange)
    # ... while two such weeks in a row are a drop.
    run = _weekly("$usage", [100, 104, 97, 99, 102, 98, 101, 99, 103, 70, 68])
    assert isinstance(adoption_drop(run, is_open=False), Raise)
    # Two weeks 30% down on average, but only because of a holiday week among them.
    and_back = _weekly("$usage", [100, 104, 97, 99, 102, 98, 101, 99, 103, 40, 98])
    assert isinstance(adoption_drop(and_back, is_open=False), NoChange)


def test_a_collapse_in_the_latest_week_is_raised_at_once() -> None:
    collapse = _weekly("$usage", [100, 104, 97, 99, 102, 98, 101, 99, 103, 40])
    decision = adoption_drop(collapse, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["drop_started"] == "2024-W10"
    assert decision.evidence["z"] <= -decision.evidence["z_threshold"] <= -DropRule().z_single


def test_a_past_holiday_does_not_hide_a_drop() -> None:
    steady = [100, 104, 97, 99, 102, 98, 101, 99, 103, 100, 98, 102]
    with_holiday = _weekly("$usage", [*steady[:4], 35, *steady[5:], 72, 70])
    decision = adoption_drop(with_holiday, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["dispersion"] < 2  # the holiday week is left out of the noise


def test_older_weeks_sharpen_the_noise_estimate_of_a_dispersed_account() -> None:
    # Weekly usage of about 200 swinging twice as much as Poisson counts would.
    dispersed = [226, 178, 215, 232, 181, 209, 174, 222, 186, 228, 173, 217]
    # With only the baseline's twelve weeks to estimate that swing, one week at 112 is not
    # beyond doubt (a t quantile of 11 degrees of freedom)...
    assert isinstance(adoption_drop(_weekly("$usage", [*dispersed, 112]), is_open=False), NoChange)
    # ... while eight older weeks of the same swing, before the baseline, make it one.
    decision = adoption_drop(_weekly("$usage", [*dispersed[4:], *dispersed, 112]), is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["baseline_mean"] == pytest.approx(sum(dispersed) / 12)
    assert decision.evidence["dispersion"] == pytest.approx(2.6, abs=0.1)


def test_counts_as_variable_as_poisson_keep_the_normal_threshold() -> None:
    # About 100 a week, a little more variable than Poisson counts: Pearson's dispersion test
    # does not reject Poisson, so the one-week 40% drop meets the normal threshold, not the t
    # quantile of an estimate the data do not call for.
    counts = [100, 116, 86, 109, 92, 114, 85, 106, 93, 113, 96, 88, 110, 101, 60]
    test = drop_test(counts, len(counts) - 1, DropRule())
    assert test is not None and test.dispersion > 1
    pearson = test.dispersion * test.freedom
    assert stats.chi2.sf(pearson, test.freedom) > 0.05
    assert is_poisson(test)
    decision = adoption_drop(_weekly("$usage", counts), is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["z_threshold"] == pytest.approx(DropRule().z_single)


def test_over_dispersed_counts_pay_the_t_quantile() -> None:
    dispersed = [226, 178, 215, 232, 181, 209, 174, 222, 186, 228, 173, 217]
    counts = [*dispersed[4:], *dispersed, 100]
    test = drop_test(counts, len(counts) - 1, DropRule())
    assert test is not None and not is_poisson(test)
    pearson = test.dispersion * test.freedom
    assert stats.chi2.sf(pearson, test.freedom) < 0.05
    expected = -stats.t.ppf(stats.norm.sf(DropRule().z_single), test.freedom)
    assert critical_z(DropRule().z_single, test) == pytest.approx(expected)


def test_too_short_a_history_decides_nothing() -> None:
    short = _weekly("$usage", [100, 100, 100, 10])
    assert isinstance(adoption_drop(short, is_open=False), NoChange)


# activity_off_track: noise-aware, decided afresh each time


def _activity(direction: ActivityDirection, target: float) -> ActivityTarget:
    return ActivityTarget(
        metric="contacts",
        category=ActivityCategory.PROCESS,
        target_per_period=target,
        direction=direction,
    )


INCREASE = _activity(ActivityDirection.INCREASE, 25)


def test_three_periods_well_below_target_raise_reroute() -> None:
    usage = _weekly("contacts", [26, 24, 27, 23, 30, 12, 11, 13])
    decision = activity_off_track(INCREASE, usage, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.category is GpsCategory.REROUTE
    assert decision.evidence["periods"] == {"2024-W06": 12, "2024-W07": 11, "2024-W08": 13}
    assert (decision.evidence["target"], decision.evidence["actual"]) == (25, 13)
    assert decision.evidence["period"] == "2024-W08"


def test_off_track_needs_a_history_that_shows_the_activity_s_own_noise() -> None:
    short = _weekly("contacts", [30, 12, 11, 13])
    assert isinstance(activity_off_track(INCREASE, short, is_open=False), NoChange)


def test_an_activity_that_swings_widely_needs_a_clearer_miss() -> None:
    # The same three misses are off track for a steady activity, noise for a swinging one.
    steady = _weekly("contacts", [25, 26, 24, 25, 26, 24, 25, 15, 14, 15])
    swinging = _weekly("contacts", [10, 40, 12, 38, 45, 8, 25, 15, 14, 15])
    assert isinstance(activity_off_track(INCREASE, steady, is_open=False), Raise)
    assert isinstance(activity_off_track(INCREASE, swinging, is_open=False), NoChange)


def test_a_noisy_activity_near_its_target_is_not_off_track() -> None:
    # Each period misses by over 20%, but by what Poisson noise of a target of 25 produces.
    near = _weekly("contacts", [26, 27, 24, 25, 26, 19, 18, 19])
    assert isinstance(activity_off_track(INCREASE, near, is_open=False), NoChange)
    one_miss = _weekly("contacts", [26, 27, 24, 25, 30, 28, 10])
    assert isinstance(activity_off_track(INCREASE, one_miss, is_open=False), NoChange)


def test_an_activity_steadily_inside_the_tolerance_is_never_off_track() -> None:
    # 12% short of 25 for 26 weeks with little noise: short of the target beyond doubt, but
    # within the 20% tolerance, so on track; the same history 40% short is off track.
    inside = [22, 22.5, 21.5, 22, 22.5, 22] * 4 + [19.5, 19.5]  # the last three average 20.3
    assert isinstance(
        activity_off_track(INCREASE, _weekly("contacts", inside), is_open=False), NoChange
    )
    outside = [15, 15.5, 14.5, 15, 15.5, 15] * 4 + [14.5, 15]
    decision = activity_off_track(INCREASE, _weekly("contacts", outside), is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["tolerance_edge"] == 20


def test_an_open_off_track_signal_gets_the_current_evidence_or_resolves() -> None:
    before = [26, 24, 27]
    still = _weekly("contacts", [*before, 12, 11, 13, 10])
    updated = activity_off_track(INCREASE, still, is_open=True)
    assert isinstance(updated, Update)
    assert updated.evidence["periods"] == {  # the whole run of misses, as stored now
        "2024-W04": 12,
        "2024-W05": 11,
        "2024-W06": 13,
        "2024-W07": 10,
    }
    one_better_week = _weekly("contacts", [*before, 12, 11, 13, 26])  # on target once
    kept = activity_off_track(INCREASE, one_better_week, is_open=True)
    assert isinstance(kept, Update)  # three weeks average 16.7: still off track
    assert kept.evidence["actual"] == 26
    near_again = _weekly("contacts", [*before, 12, 11, 22, 21, 23])  # 12% short on average
    assert isinstance(activity_off_track(INCREASE, near_again, is_open=True), Update)
    back = _weekly("contacts", [*before, 12, 11, 24, 25, 23])  # within half the tolerance
    resolved = activity_off_track(INCREASE, back, is_open=True)
    assert isinstance(resolved, Resolve)
    assert resolved.evidence["actual"] == 23


def test_one_lucky_week_does_not_hide_a_shortfall_that_lasts() -> None:
    lucky = _weekly("contacts", [26, 24, 27, 25, 26, 24, 12, 11, 26, 13, 12])
    decision = activity_off_track(INCREASE, lucky, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.evidence["periods"] == {
        "2024-W07": 12,
        "2024-W08": 11,
        "2024-W09": 26,
        "2024-W10": 13,
        "2024-W11": 12,
    }


def test_stopped_and_decreased_activities_are_off_track_above_their_target() -> None:
    stop = _activity(ActivityDirection.STOP, 0)
    still_calling = _weekly("cold_calls", [0, 0, 0, 0, 3, 2, 4])
    assert isinstance(activity_off_track(stop, still_calling, is_open=False), Raise)
    stopped = _weekly("cold_calls", [0, 0, 0, 3, 2, 4, 0])
    assert isinstance(activity_off_track(stop, stopped, is_open=True), Resolve)
    decrease = _activity(ActivityDirection.DECREASE, 5)
    bounces = _weekly("bounces", [5, 4, 6, 5, 14, 15, 16])
    assert isinstance(activity_off_track(decrease, bounces, is_open=False), Raise)


def test_a_level_not_reported_for_the_last_periods_decides_nothing() -> None:
    unknown = _weekly("contacts", [20, 22, 21, 20, 23, 8, None, None, None])
    assert isinstance(activity_off_track(INCREASE, unknown, is_open=False), NoChange)


def test_a_level_short_of_target_is_off_track_though_last_week_was_not_reported() -> None:
    admin = _activity(ActivityDirection.DECREASE, 13)
    hours = _weekly("hours_on_admin", [12, 13.5, 11, 14, 12.5, 13, 12, 33, 26, 23, 28, None])
    decision = activity_off_track(admin, hours, is_open=False)
    assert isinstance(decision, Raise)
    assert (decision.evidence["actual"], decision.evidence["period"]) == (28, "2024-W11")
    assert "2024-W12" not in decision.evidence["periods"]


def test_one_week_on_target_does_not_hide_a_shortfall_that_lasts() -> None:
    campaigns = _activity(ActivityDirection.INCREASE, 6)
    # Half the target for nineteen weeks, the target itself in the latest.
    weeks = [3, 2, 3, 2, 2, 3, 2, 2, 3, 2, 4, 4, 2, 3, 5, 4, 3, 2, 6]
    decision = activity_off_track(campaigns, _weekly("contacts", weeks), is_open=False, family=4)
    assert isinstance(decision, Raise)
    assert decision.evidence["actual"] == 6


def test_no_raise_that_the_next_judgement_would_resolve() -> None:
    campaigns = _activity(ActivityDirection.INCREASE, 6)
    # Short for months, but the last three weeks are back within half the tolerance.
    weeks = _weekly("contacts", [3, 2, 3, 2, 2, 3, 2, 2, 3, 2, 4, 4, 2, 3, 5, 4, 6, 5, 6])
    assert isinstance(activity_off_track(campaigns, weeks, is_open=True, family=4), Resolve)
    assert isinstance(activity_off_track(campaigns, weeks, is_open=False, family=4), NoChange)


def test_whole_counts_as_variable_as_poisson_are_judged_with_poisson_noise() -> None:
    contacts = _activity(ActivityDirection.INCREASE, 12)
    recent = [6, 6, 7, 6]
    # A little more variable than Poisson counts at the edge (9.6), well within what Pearson's
    # test allows Poisson counts: known noise, the normal quantile, and a shortfall.
    early = [12, 7, 17, 9, 15, 18, 8, 12, 16, 8, 14, 12, 6, 17, 12]
    pearson = sum((v - sum(early) / 15) ** 2 for v in early) / (sum(early) / 15)
    pearson += sum((v - sum(recent) / 4) ** 2 for v in recent) / (sum(recent) / 4)
    assert stats.chi2.sf(pearson, 14 + 3) > 0.2
    decision = activity_off_track(
        contacts, _weekly("contacts", [*early, *recent]), is_open=False, family=3
    )
    assert isinstance(decision, Raise)
    assert decision.evidence["noise_sd"] == pytest.approx(math.sqrt(12 * 0.8))  # at the edge
    expected = -stats.norm.ppf(stats.norm.sf(RiskThresholds().off_track_z) / 3)
    assert decision.evidence["z_threshold"] == pytest.approx(expected)
    # The same recent weeks after a history swinging far more than Poisson counts do.
    swinging = [12, 4, 20, 9, 17, 22, 5, 12, 19, 8, 16, 13, 3, 21, 12, *recent]
    decision = activity_off_track(contacts, _weekly("contacts", swinging), is_open=False, family=3)
    assert isinstance(decision, NoChange)


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
    assert isinstance(objective_at_risk(OBJECTIVE, slow, is_open=True), KEPT)
    assert isinstance(objective_at_risk(OBJECTIVE, fast, is_open=True), Resolve)
    assert isinstance(objective_at_risk(OBJECTIVE, fast, is_open=False), NoChange)


def test_a_noisy_short_projection_whose_interval_reaches_the_target_is_not_at_risk() -> None:
    noisy = [2.2, 2.9, 2.3, 2.5, 2.95, 2.4]  # slope about +0.06/week, but wide noise
    projection = project_objective(OBJECTIVE, _weekly("conversion", noisy))
    assert not isinstance(projection, InsufficientEvidence)
    assert projection.interval_low < projection.projected_value < projection.interval_high
    assert projection.interval_high >= 3.2
    assert isinstance(objective_at_risk(OBJECTIVE, projection, is_open=False), NoChange)


def test_no_projection_decides_nothing() -> None:
    gap = InsufficientEvidence(EvidenceGap.TOO_FEW_POINTS, 1, 4)
    assert isinstance(objective_at_risk(OBJECTIVE, gap, is_open=True), KEPT)


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
    assert isinstance(blocker_reported(reported, is_open=True), KEPT)
    resolved = _event("blocker.resolved", {"blocker_id": "b-7"})
    assert isinstance(blocker_reported(resolved, is_open=True), Resolve)
    assert isinstance(blocker_reported(resolved, is_open=False), NoChange)


@pytest.mark.parametrize(("name", "is_open"), [
    ("blocker.reported", False),  # a report older than the resolution already applied
    ("blocker.resolved", True),  # a resolution older than the report already applied
])  # fmt: skip
def test_a_blocker_event_older_than_the_latest_applied_changes_nothing(
    name: str, is_open: bool
) -> None:
    late = _event(name, {"blocker_id": "b-7"})
    assert isinstance(
        blocker_reported(late, is_open=is_open, latest_at=NOW + timedelta(days=1)), NoChange
    )
    current = blocker_reported(late, is_open=is_open, latest_at=NOW)
    assert isinstance(current, Resolve if is_open else Raise)


def test_blocker_event_without_id_is_refused() -> None:
    with pytest.raises(ValueError, match="blocker_id"):
        blocker_reported(_event("blocker.reported", {}), is_open=False)
    with pytest.raises(ValueError):
        blocker_reported(_event("org.reorganized", {"blocker_id": "b"}), is_open=False)


# objective_achieved


def test_the_target_held_for_two_ended_periods_raises_arrived_once() -> None:
    reached = _weekly("conversion", [2.9, 3.3, None, 3.4])
    decision = objective_achieved(OBJECTIVE, reached, is_open=False)
    assert isinstance(decision, Raise)
    assert decision.category is GpsCategory.ARRIVED
    assert (decision.evidence["period"], decision.evidence["value"]) == ("2024-W04", 3.4)
    assert decision.evidence["periods"] == {"2024-W02": 3.3, "2024-W04": 3.4}
    assert isinstance(objective_achieved(OBJECTIVE, reached, is_open=True), NoChange)
    fell_back = _weekly("conversion", [3.3, 2.9])
    assert isinstance(objective_achieved(OBJECTIVE, fell_back, is_open=True), NoChange)


def test_one_noisy_period_above_target_is_not_arrived() -> None:
    spike = _weekly("conversion", [2.6, 2.7, 3.5])
    assert isinstance(objective_achieved(OBJECTIVE, spike, is_open=False), NoChange)
    three = RiskThresholds(achieved_periods=3)
    held = _weekly("conversion", [3.3, 3.4, 3.5])
    assert isinstance(objective_achieved(OBJECTIVE, held, is_open=False, thresholds=three), Raise)


def test_an_owner_known_only_by_role_counts_and_leaving_raises() -> None:
    unnamed = _plan(None)
    owner = _person("fay", StakeholderRole.ADOPTION_OWNER)
    assert isinstance(no_adoption_owner(unnamed, [owner], is_open=False), NoChange)
    gone = _person("fay", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.DEPARTED)
    decision = no_adoption_owner(unnamed, [gone], is_open=False)
    assert isinstance(decision, Raise)
    assert (decision.evidence["reason"], decision.evidence["departed_owner_ids"]) == (
        "departed",
        ["fay"],
    )
    # A named owner not seen in any event yet is assigned all the same.
    assert isinstance(no_adoption_owner(_plan("gus"), [], is_open=False), NoChange)
