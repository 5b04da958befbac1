"""Event-time evaluation: periods complete by the account's watermark, an account catching up is
not judged, and a history replayed in any batching gives the same final signals without flaps
(a property test over batchings, orders within the lateness and the plan's arrival)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.correlation.evaluation import USAGE_METRIC
from services.correlation.event_time import (
    EvaluationConfig,
    Progress,
    Scope,
    TenantStream,
    clock_through,
    due_on_events,
    due_when_idle,
    on_events,
    on_sweep,
    watermark_through,
)
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
from shared.clock import timestamp
from shared.signals import SignalType
from tests.support.replay import AccountReplay, Value, replay

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)  # a Wednesday of 2026-W48
CONFIG = EvaluationConfig(allowed_lateness=timedelta(hours=1))
WEEKS = 16


def _history(seed: int, drop_weeks: int, *, through_now: bool = False) -> list[Value]:
    """16 weeks of usage (about 200 a week, +-5%) and an activity near its target of 20, up to
    last Sunday (or up to now); the last ``drop_weeks`` full weeks of usage 45% lower.
    Sorted by event time."""
    rng = random.Random(seed)
    monday = datetime(2026, 11, 23, tzinfo=UTC)
    first = monday - timedelta(weeks=WEEKS)
    values = []
    for week in range(WEEKS + (1 if through_now else 0)):
        level = 200 * (0.55 if WEEKS - drop_weeks <= week < WEEKS else 1.0)
        hours = 160.0 if week < WEEKS else (NOW - monday).total_seconds() / 3600 - 1
        share = hours / 160
        for _ in range(round(level * share * rng.uniform(0.95, 1.05))):
            at = first + timedelta(weeks=week, hours=rng.uniform(0, hours))
            values.append(Value("report.viewed", 1.0, at, usage=True))
        if week < WEEKS:
            contacts = 20 * rng.uniform(0.95, 1.05)
            values.append(Value("contacts", contacts, first + timedelta(weeks=week, days=2)))
    return sorted(values, key=lambda v: v.occurred_at)


PLAN = SuccessPlan(
    id="plan-a",
    account_id="a",
    objectives=(
        Objective(
            metric="rate", baseline=1, target=2, direction=Direction.UP, deadline=date(2027, 6, 1)
        ),
    ),
    itinerary=(
        ActivityTarget(
            metric="contacts",
            category=ActivityCategory.PROCESS,
            target_per_period=20,
            direction=ActivityDirection.INCREASE,
        ),
    ),
    adoption_owner_id="owner",
)
PEOPLE = (Stakeholder("owner", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.ACTIVE, NOW),)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    drop_weeks=st.sampled_from([0, 0, 1, 3, 6]),
    cut_fractions=st.lists(st.floats(0, 1), max_size=12),
    plan_at=st.integers(0, 14),
    through_now=st.booleans(),
)
def test_any_batching_of_a_history_gives_the_final_signals_without_flaps(
    seed: int, drop_weeks: int, cut_fractions: list[float], plan_at: int, through_now: bool
) -> None:
    values = _history(seed, drop_weeks, through_now=through_now)
    jitter = random.Random(seed)
    # Events of one day may swap places (within the lateness a producer's retries cause).
    shuffled = sorted(values, key=lambda v: (v.occurred_at.date(), jitter.random()))
    cuts = [int(f * len(values)) for f in cut_fractions]
    batched = replay(
        shuffled, CONFIG, now=NOW, cuts=cuts, plan=PLAN, plan_at=plan_at, stakeholders=PEOPLE
    )
    at_once = replay(values, CONFIG, now=NOW, plan=PLAN, stakeholders=PEOPLE)
    assert batched.open.keys() == at_once.open.keys()
    assert batched.resolved() == []  # no flaps
    expected = {(SignalType.ADOPTION_DROP, USAGE_METRIC)} if drop_weeks else set()
    assert set(batched.open) == expected
    for key, evidence in batched.open.items():
        assert evidence == at_once.open[key] | {"detected_at": evidence["detected_at"]}
    assert batched.judgements <= 2  # judged once its data is current, not once per batch


def test_a_period_is_complete_once_the_watermark_passes_its_end_plus_lateness() -> None:
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W48 starts
    # 00:00 Monday is the end of W47, but an hour of lateness is allowed.
    assert watermark_through(monday, NOW, CONFIG) == "2026-W46"
    assert watermark_through(monday + timedelta(hours=2), NOW, CONFIG) == "2026-W47"
    # Never beyond the wall clock, whatever the events claim.
    assert watermark_through(NOW + timedelta(weeks=3), NOW, CONFIG) == clock_through(NOW, CONFIG)
    assert watermark_through(None, NOW, CONFIG) is None


def test_an_account_catching_up_is_not_judged_until_its_data_is_current() -> None:
    behind = Progress(watermark=NOW - timedelta(weeks=6), touched_at=NOW)
    assert due_on_events(behind, NOW, CONFIG) is None
    assert on_events(behind, NOW, CONFIG, lifecycle=True) == (Scope.LIFECYCLE, None)
    current = Progress(watermark=NOW - timedelta(hours=1), touched_at=NOW)
    assert due_on_events(current, NOW, CONFIG) == "2026-W47"
    judged = Progress(watermark=NOW, judged_through="2026-W47", touched_at=NOW)
    assert due_on_events(judged, NOW, CONFIG) is None
    assert on_events(judged, NOW, CONFIG, lifecycle=True) == (Scope.CURRENT, "2026-W47")


def test_an_idle_account_is_judged_by_the_wall_clock_after_its_idle_time() -> None:
    sunday = datetime(2026, 11, 22, 22, tzinfo=UTC)  # its data reaches the end of W47
    tail = Progress(watermark=sunday, touched_at=NOW)
    assert due_when_idle(tail, NOW + CONFIG.tail_idle / 2, CONFIG) is None
    assert due_when_idle(tail, NOW + CONFIG.tail_idle, CONFIG) == "2026-W47"
    # Six weeks behind: a backfill may only have paused, so it waits the quiet interval.
    paused = Progress(watermark=NOW - timedelta(weeks=6), touched_at=NOW)
    assert due_when_idle(paused, NOW + CONFIG.tail_idle, CONFIG) is None
    assert due_when_idle(paused, NOW + CONFIG.quiet_after, CONFIG) == "2026-W47"
    done = Progress(watermark=sunday, judged_through="2026-W47", touched_at=NOW)
    assert due_when_idle(done, NOW + CONFIG.quiet_after, CONFIG) is None
    assert on_sweep(done, NOW, CONFIG) == (Scope.CURRENT, "2026-W47")
    late = Progress(watermark=sunday, judged_through="2026-W47", rejudge=True, touched_at=NOW)
    assert due_when_idle(late, NOW + CONFIG.tail_idle, CONFIG) == "2026-W47"


def test_a_lagging_account_waits_while_its_tenant_still_sends_lagging_history() -> None:
    """Account after account, a backfill leaves the first accounts idle and two weeks behind
    while the tenant's stream is busy with the others: they are waiting, not silent."""
    later = NOW + CONFIG.quiet_after
    first = Progress(watermark=NOW - timedelta(weeks=2), touched_at=NOW)
    backfilling = TenantStream(watermark=NOW - timedelta(weeks=2), touched_at=later)
    assert not backfilling.settled(later, CONFIG)
    assert due_when_idle(first, later, CONFIG, backfilling) is None
    assert on_sweep(first, later, CONFIG, backfilling) == (Scope.LIFECYCLE, None)
    # The tenant's stream went quiet too: the account is judged by the clock.
    quiet = TenantStream(watermark=NOW - timedelta(weeks=2), touched_at=NOW)
    assert due_when_idle(first, later, CONFIG, quiet) == clock_through(later, CONFIG)
    # Live data flows for other accounts: this one's silence is real.
    live = TenantStream(watermark=later - timedelta(hours=1), touched_at=later)
    assert live.settled(later, CONFIG)
    assert due_when_idle(first, later, CONFIG, live) == clock_through(later, CONFIG)
    # An account missing only the last period is judged after the tail idle time, as before.
    tail = Progress(watermark=datetime(2026, 11, 22, 22, tzinfo=UTC), touched_at=NOW)
    assert due_when_idle(tail, NOW + CONFIG.tail_idle, CONFIG, backfilling) == "2026-W47"


def test_weeks_still_on_their_way_are_not_read_as_zero_usage() -> None:
    values = _history(3, 0)
    cut = NOW - timedelta(weeks=6)  # a consumer batch ends mid-history
    account = AccountReplay(CONFIG, stakeholders=PEOPLE)
    account.put_plan(PLAN, NOW)
    account.apply([v for v in values if v.occurred_at < cut], NOW)
    account.sweep(NOW + CONFIG.tail_idle)  # idle a minute: a paused backfill, not a silence
    assert account.published == []
    assert account.judgements == 0


def test_a_change_found_in_history_dates_itself_in_event_time_and_says_it_is_old_news() -> None:
    values = _history(5, 5)
    account = replay(values, CONFIG, now=NOW, plan=PLAN, stakeholders=PEOPLE)
    assert [p.signal_type for p in account.raised()] == [SignalType.ADOPTION_DROP]
    evidence = account.raised()[0].evidence
    assert evidence["catching_up"] is True
    # 45% down from about 200 a week is clear in its first week: true from the end of that week
    # (the weekly judgement that would have seen it), detected once the quiet account was judged.
    assert evidence["drop_started"] == "2026-W43"
    assert evidence["as_of"] == timestamp(datetime(2026, 10, 26, tzinfo=UTC))
    assert evidence["detected_at"] == timestamp(NOW + CONFIG.quiet_after)


def test_a_history_sent_after_live_data_is_judged_again_whole() -> None:
    values = _history(9, 0, through_now=True)
    recent = [v for v in values if v.occurred_at >= NOW - timedelta(weeks=2)]
    older = [v for v in values if v.occurred_at < NOW - timedelta(weeks=2)]
    account = AccountReplay(CONFIG, stakeholders=PEOPLE)
    account.put_plan(PLAN, NOW)
    account.apply(recent, NOW)  # live data first: judged, too short to say anything
    assert account.judgements == 1
    for start in range(0, len(older), 500):  # then the history, in batches, all late data
        account.apply(older[start : start + 500], NOW)
    assert account.judgements == 1 and account.progress.rejudge
    account.sweep(NOW + CONFIG.tail_idle)
    assert account.judgements == 2 and not account.progress.rejudge
    assert account.published == []
