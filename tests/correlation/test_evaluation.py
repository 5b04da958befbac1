"""One account's evaluation: series over the window, rule decisions, health, itinerary status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.correlation.buckets import Bucket, last_complete_period, period_start, shift_period
from services.correlation.evaluation import (
    USAGE_METRIC,
    AccountState,
    account_series,
    evaluate,
)
from services.correlation.event_time import EvaluationConfig
from services.correlation.health_history import SignalSpan, health_history
from services.correlation.itinerary import itinerary_status
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
from services.correlation.risk import Raise
from shared.signals import SignalType

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
CONFIG = EvaluationConfig(min_points=8)
CONTACTS = [20, 42, 25, 31, 55, 28, 47, 60, 33, 52, 39, 65]


def plan() -> SuccessPlan:
    return SuccessPlan(
        id="p1",
        account_id="a1",
        objectives=(
            Objective(
                metric="rate",
                baseline=2.2,
                target=3.2,
                direction=Direction.UP,
                deadline=date(2026, 12, 31),
            ),
        ),
        itinerary=(
            ActivityTarget(
                metric="contacts",
                category=ActivityCategory.PROCESS,
                target_per_period=25,
                direction=ActivityDirection.INCREASE,
            ),
        ),
        adoption_owner_id="owner",
        sponsor_id="ceo",
    )


def bucket(metric: str, key: str, value: float) -> Bucket:
    return Bucket.open(
        tenant_id="t",
        account_id="a1",
        metric=metric,
        value=value,
        occurred_at=period_start(key) + timedelta(days=1),
    )


def twelve_weeks() -> dict[str, list[Bucket]]:
    last = last_complete_period(NOW)
    keys = [shift_period(last, i - 11) for i in range(12)]
    rates = [2.2, 2.2, *(2.2 + 0.02 * (c - 20) for c in CONTACTS[:-2])]
    return {
        "contacts": [bucket("contacts", k, c) for k, c in zip(keys, CONTACTS, strict=True)],
        "rate": [bucket("rate", k, r) for k, r in zip(keys, rates, strict=True)],
        USAGE_METRIC: [bucket(USAGE_METRIC, k, 10) for k in keys],
    }


def test_series_run_from_the_first_bucket_to_the_last_complete_period() -> None:
    state = AccountState("a1", plan(), (), twelve_weeks())
    series = account_series(state, NOW, CONFIG)
    assert set(series) == {"contacts", "rate", USAGE_METRIC}
    assert series["contacts"].keys[-1] == last_complete_period(NOW)
    assert len(series["contacts"].keys) == 12


def test_a_departed_sponsor_raises_and_health_adds_up() -> None:
    people = (
        Stakeholder("ceo", StakeholderRole.SPONSOR, StakeholderStatus.DEPARTED, NOW),
        Stakeholder("owner", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.ACTIVE, NOW),
    )
    result = evaluate(AccountState("a1", plan(), people, twelve_weeks()), NOW, CONFIG)
    raised = {(c.signal_type, c.subject) for c in result.changes if isinstance(c, Raise)}
    assert (SignalType.SPONSOR_DEPARTURE, "a1") in raised
    assert SignalType.SPONSOR_DEPARTURE in result.open_signals
    assert 0 <= result.health.score <= 100
    total = sum(c.contribution for c in result.health.components)
    assert abs(total - result.health.score) < 1e-9


def test_an_open_signal_is_not_raised_again() -> None:
    people = (Stakeholder("ceo", StakeholderRole.SPONSOR, StakeholderStatus.DEPARTED, NOW),)
    state = AccountState(
        "a1",
        plan(),
        people,
        twelve_weeks(),
        open_signals={(SignalType.SPONSOR_DEPARTURE, "a1"): {}},
    )
    result = evaluate(state, NOW, CONFIG)
    assert not any(
        isinstance(c, Raise) and c.signal_type is SignalType.SPONSOR_DEPARTURE
        for c in result.changes
    )


def test_itinerary_status_carries_the_latest_value_and_the_lead_lag_verdict() -> None:
    state = AccountState("a1", plan(), (), twelve_weeks())
    series = account_series(state, NOW, CONFIG)
    (status,) = itinerary_status(plan(), series, CONFIG)
    assert status.activity == "contacts" and status.actual == 65 and status.target == 25
    # The rate follows contacts two weeks later, exactly: the verdict, not a raw r.
    assert status.verdict == "moves_objective" and status.objective == "rate"
    assert status.lag == 2 and status.effect_r is not None and status.effect_r > 0.95
    assert status.q_value is not None and status.q_value < 0.05


def test_itinerary_status_of_too_short_a_history_is_insufficient_evidence() -> None:
    weeks = {metric: buckets[-6:] for metric, buckets in twelve_weeks().items()}
    series = account_series(AccountState("a1", plan(), (), weeks), NOW, CONFIG)
    (status,) = itinerary_status(plan(), series, CONFIG)
    assert status.verdict == "insufficient_evidence"
    assert status.lag is None and status.effect_r is None


def test_an_account_without_plan_or_data_still_gets_a_health_score() -> None:
    result = evaluate(AccountState("a1", None, (), {}), NOW, CONFIG)
    assert result.changes == ()
    # No risks open (full marks) and nobody covering the account (none): half.
    assert result.health.score == 50.0


def test_a_reorganization_stamped_just_after_the_evaluation_clock_still_raises() -> None:
    state = AccountState("a1", None, (), {}, reorganized_at=(NOW + timedelta(milliseconds=300),))
    result = evaluate(state, NOW, CONFIG)
    assert SignalType.REORGANIZATION in result.open_signals


def test_health_history_reads_each_period_as_it_was_then() -> None:
    people = (
        Stakeholder("ceo", StakeholderRole.SPONSOR, StakeholderStatus.ACTIVE, NOW),
        Stakeholder("owner", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.ACTIVE, NOW),
    )
    state = AccountState("a1", plan(), people, twelve_weeks())
    last = last_complete_period(NOW)
    # A risk that opened at the end of the fourth-last week and is still open.
    opened = period_start(shift_period(last, -3))
    spans = [SignalSpan(SignalType.BLOCKER_REPORTED, opened, None)]
    history = health_history(state, spans, NOW, CONFIG, through=last, periods=6)
    assert [period for period, _ in history] == [shift_period(last, i - 5) for i in range(6)]
    before, after = dict(history)[shift_period(last, -5)], dict(history)[shift_period(last, -3)]
    assert after < before  # the open blocker weighs from the week it opened
    # The latest point is the health an evaluation of the same state gives.
    (_, latest) = history[-1]
    quiet = evaluate(
        AccountState("a1", plan(), people, twelve_weeks()), NOW, CONFIG, through=last
    ).health.score
    assert latest <= quiet
