"""Event-time evaluation: periods complete by the account's watermark, and a history replayed in
any batching gives the same final signals without flaps (a property test over batchings)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.correlation.buckets import Bucket, fold, last_complete_period, period_key
from services.correlation.evaluation import (
    USAGE_METRIC,
    AccountState,
    EvaluationConfig,
    complete_through,
    evaluate,
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
from services.correlation.risk import Raise, Resolve, Update
from shared.signals import SignalType

NOW = datetime(2026, 11, 25, 15, tzinfo=UTC)  # a Wednesday
CONFIG = EvaluationConfig(allowed_lateness=timedelta(hours=1))
WEEKS = 16


@dataclass(frozen=True)
class Event:
    """One usage or activity value of the replayed account."""

    metric: str
    value: float
    occurred_at: datetime


def _history(seed: int, drop_weeks: int) -> list[Event]:
    """16 weeks of usage (about 200 a week, +-5%) and an activity near its target of 20; the
    last ``drop_weeks`` weeks of usage 45% lower. Sorted by event time."""
    rng = random.Random(seed)
    first = NOW - timedelta(weeks=WEEKS)
    events = []
    for week in range(WEEKS):
        level = 200 * (0.55 if week >= WEEKS - drop_weeks else 1.0)
        for _ in range(round(level * rng.uniform(0.95, 1.05))):
            events.append(
                Event(
                    "report.viewed", 1.0, first + timedelta(weeks=week, hours=rng.uniform(0, 160))
                )
            )
        events.append(
            Event("contacts", 20 * rng.uniform(0.95, 1.05), first + timedelta(weeks=week, days=2))
        )
    return sorted(events, key=lambda e: e.occurred_at)


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


class Replay:
    """The pipeline in miniature: fold each batch into buckets, evaluate, apply the changes."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.open: dict[tuple[SignalType, str], dict[str, object]] = {}
        self.published: list[tuple[str, SignalType]] = []

    def apply(self, batch: Sequence[Event]) -> None:
        for event in batch:
            for metric, value in ((event.metric, event.value), (USAGE_METRIC, 1.0)):
                if metric == USAGE_METRIC and event.metric != "report.viewed":
                    continue
                key = (metric, period_key(event.occurred_at))
                current = self.buckets.get(key)
                self.buckets[key] = (
                    Bucket.open(
                        tenant_id="t",
                        account_id="a",
                        metric=metric,
                        value=value,
                        occurred_at=event.occurred_at,
                    )
                    if current is None
                    else fold(current, value, event.occurred_at)
                )

    def evaluate(self, plan: SuccessPlan | None, *, quiet: bool) -> None:
        by_metric: dict[str, list[Bucket]] = {}
        for (metric, _), bucket in sorted(self.buckets.items()):
            by_metric.setdefault(metric, []).append(bucket)
        state = AccountState("a", plan, PEOPLE, by_metric, open_signals=dict(self.open))
        for change in evaluate(state, NOW, CONFIG, quiet=quiet).changes:
            key = (change.signal_type, change.subject)
            if isinstance(change, Raise):
                self.open[key] = dict(change.evidence)
                self.published.append(("raised", change.signal_type))
            elif isinstance(change, Resolve):
                self.open.pop(key, None)
                self.published.append(("resolved", change.signal_type))
            elif isinstance(change, Update):
                self.open[key] = dict(change.evidence)


def _replay(events: list[Event], cuts: list[int], plan_at: int, jitter: random.Random) -> Replay:
    """Replay in batches cut at ``cuts``; events of one day may swap places (within the
    lateness a producer's retries cause); the plan arrives before batch ``plan_at``."""
    shuffled = sorted(events, key=lambda e: (e.occurred_at.date(), jitter.random()))
    replay = Replay()
    bounds = [0, *sorted(set(cuts)), len(shuffled)]
    for index, (start, end) in enumerate(itertools.pairwise(bounds)):
        replay.apply(shuffled[start:end])
        replay.evaluate(PLAN if index >= plan_at else None, quiet=False)
    replay.evaluate(PLAN, quiet=True)  # the sweeper, once the account went quiet
    return replay


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    drop_weeks=st.sampled_from([0, 0, 3, 6]),
    cut_fractions=st.lists(st.floats(0, 1), max_size=12),
    plan_at=st.integers(0, 6),
)
def test_any_batching_of_a_history_gives_the_final_signals_without_flaps(
    seed: int, drop_weeks: int, cut_fractions: list[float], plan_at: int
) -> None:
    events = _history(seed, drop_weeks)
    cuts = [int(f * len(events)) for f in cut_fractions]
    replay = _replay(events, cuts, plan_at, random.Random(seed))
    at_once = _replay(events, [], 0, random.Random(seed))
    assert set(replay.open) == set(at_once.open)
    assert not [change for change in replay.published if change[0] == "resolved"]  # no flaps
    expected = {(SignalType.ADOPTION_DROP, USAGE_METRIC)} if drop_weeks else set()
    assert set(replay.open) == expected
    for key, evidence in replay.open.items():
        assert evidence == at_once.open[key] | {"detected_at": evidence["detected_at"]}


def test_a_period_is_complete_once_the_watermark_passes_its_end_plus_lateness() -> None:
    monday = datetime(2026, 11, 23, tzinfo=UTC)  # 2026-W48 starts
    bucket = Bucket.open(
        tenant_id="t", account_id="a", metric=USAGE_METRIC, value=1, occurred_at=monday
    )
    state = AccountState("a", None, (), {USAGE_METRIC: [bucket]})
    # 00:00 Monday is the end of W47, but an hour of lateness is allowed.
    assert complete_through(state, NOW, CONFIG, quiet=False) == "2026-W46"
    later = Bucket.open(
        tenant_id="t",
        account_id="a",
        metric=USAGE_METRIC,
        value=1,
        occurred_at=monday + timedelta(hours=2),
    )
    state = AccountState("a", None, (), {USAGE_METRIC: [later]})
    assert complete_through(state, NOW, CONFIG, quiet=False) == "2026-W47"
    # A quiet account completes by the wall clock; an account without data not at all.
    old = Bucket.open(
        tenant_id="t",
        account_id="a",
        metric=USAGE_METRIC,
        value=1,
        occurred_at=monday - timedelta(weeks=5),
    )
    state = AccountState("a", None, (), {USAGE_METRIC: [old]})
    assert complete_through(state, NOW, CONFIG, quiet=True) == last_complete_period(NOW)
    assert complete_through(AccountState("a", None, (), {}), NOW, CONFIG, quiet=False) is None


def test_weeks_still_on_their_way_are_not_read_as_zero_usage() -> None:
    events = _history(3, 0)
    cut = NOW - timedelta(weeks=6)  # a consumer batch ends mid-history
    replay = Replay()
    replay.apply([e for e in events if e.occurred_at < cut])
    replay.evaluate(None, quiet=False)
    assert replay.published == []


def test_a_change_found_while_catching_up_says_so_and_dates_itself_in_event_time() -> None:
    events = _history(5, 5)
    replay = Replay()
    replay.apply([e for e in events if e.occurred_at < NOW - timedelta(weeks=2)])
    replay.evaluate(None, quiet=False)
    assert replay.published == [("raised", SignalType.ADOPTION_DROP)]
    evidence = replay.open[(SignalType.ADOPTION_DROP, USAGE_METRIC)]
    assert evidence["catching_up"] is True
    assert datetime.fromisoformat(str(evidence["as_of"])) < NOW - timedelta(weeks=2)
    assert evidence["detected_at"] == NOW.isoformat()
