"""The correlation pipeline in miniature, pure: fold batches of one account's values into
buckets, advance its progress in event time, and run the evaluations the service would run
(on events, on a plan, on a sweep), applying the changes as the service does.

Used by the event-time property tests and the in-process judgement benchmark: it calls the same
domain functions (``evaluation.on_events``, ``on_change``, ``on_sweep``, ``evaluate``) the
handlers call, without the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.correlation.buckets import Bucket, fold, period_key
from services.correlation.evaluation import USAGE_METRIC, AccountState, evaluate
from services.correlation.event_time import (
    EvaluationConfig,
    Judged,
    Progress,
    Scope,
    on_change,
    on_events,
    on_sweep,
)
from services.correlation.plans import Stakeholder, SuccessPlan
from services.correlation.risk import Raise, Resolve, Update
from shared.signals import SignalType


@dataclass(frozen=True)
class Value:
    """One value of the replayed account; usage values also count in the usage series."""

    metric: str
    value: float
    occurred_at: datetime
    usage: bool = False


def values_of(events: Iterable[dict[str, Any]]) -> list[Value]:
    """The values a generator's native events fold into (lifecycle events carry none)."""
    found = []
    for event in events:
        if event["kind"] == "lifecycle":
            continue
        at = datetime.fromisoformat(event["occurred_at"])
        value = float(event.get("value", 1.0))
        found.append(Value(event["name"], value, at, usage=event["kind"] == "usage"))
    return found


@dataclass(frozen=True)
class Published:
    """A signal change as the outbox would publish it."""

    change: str
    signal_type: SignalType
    subject: str
    evidence: dict[str, Any]


@dataclass
class AccountReplay:
    """One account through the pipeline; ``published`` is its signal changes in order."""

    config: EvaluationConfig
    stakeholders: tuple[Stakeholder, ...] = ()
    plan: SuccessPlan | None = None
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    progress: Progress = field(default_factory=Progress)
    open: dict[tuple[SignalType, str], dict[str, Any]] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    judgements: int = 0

    def apply(self, batch: Sequence[Value], now: datetime) -> None:
        """A consumer batch: fold, advance, evaluate what its events call for."""
        if not batch:
            return
        for item in batch:
            self._fold(item.metric, item.value, item.occurred_at)
            if item.usage:
                self._fold(USAGE_METRIC, 1.0, item.occurred_at)
        latest = max(item.occurred_at for item in batch)
        earliest = min(period_key(item.occurred_at, self.config.unit) for item in batch)
        mark = self.progress.watermark
        judged = self.progress.judged_through
        self.progress = replace(
            self.progress,
            watermark=latest if mark is None else max(mark, latest),
            touched_at=now,
            rejudge=self.progress.rejudge or (judged is not None and earliest <= judged),
        )
        self._run(on_events(self.progress, now, self.config, lifecycle=False), now)

    def put_plan(self, plan: SuccessPlan, now: datetime) -> None:
        """The plan arrives (or changes) through the API."""
        self.plan = plan
        self._run(on_change(self.progress, now, self.config, plan=True), now)

    def sweep(self, now: datetime) -> None:
        """The sweeper finds the account idle (or not evaluated for a while)."""
        self._run(on_sweep(self.progress, now, self.config), now)

    def open_types(self) -> set[SignalType]:
        return {signal_type for signal_type, _ in self.open}

    def raised(self) -> list[Published]:
        return [p for p in self.published if p.change == "raised"]

    def resolved(self) -> list[Published]:
        return [p for p in self.published if p.change == "resolved"]

    def _fold(self, metric: str, value: float, occurred_at: datetime) -> None:
        key = (metric, period_key(occurred_at, self.config.unit))
        current = self.buckets.get(key)
        self.buckets[key] = (
            Bucket.open(
                tenant_id="t",
                account_id="a",
                metric=metric,
                value=value,
                occurred_at=occurred_at,
                unit=self.config.unit,
            )
            if current is None
            else fold(current, value, occurred_at)
        )

    def _run(self, judged: Judged, now: datetime) -> None:
        scope, through = judged
        if scope is None:
            return
        by_metric: dict[str, list[Bucket]] = {}
        for (metric, _), bucket in sorted(self.buckets.items()):
            by_metric.setdefault(metric, []).append(bucket)
        state = AccountState(
            "a", self.plan, self.stakeholders, by_metric, open_signals=dict(self.open)
        )
        result = evaluate(state, now, self.config, scope=scope, through=through)
        for change in result.changes:
            key = (change.signal_type, change.subject)
            evidence = dict(change.evidence)
            if isinstance(change, Raise):
                self.open[key] = evidence
                self.published.append(Published("raised", *key, evidence))
            elif isinstance(change, Resolve):
                self.open.pop(key, None)
                self.published.append(Published("resolved", *key, evidence))
            elif isinstance(change, Update):
                self.open[key] = evidence
        if scope is Scope.JUDGEMENT and through is not None:
            self.judgements += 1
            self.progress = replace(self.progress, judged_through=through, rejudge=False)


def replay(
    values: Iterable[Value],
    config: EvaluationConfig,
    *,
    now: datetime,
    cuts: Sequence[int] = (),
    plan: SuccessPlan | None = None,
    plan_at: int = 0,
    stakeholders: tuple[Stakeholder, ...] = (),
) -> AccountReplay:
    """Replay ``values`` (in the order given) in batches cut at ``cuts``, the plan arriving
    before batch ``plan_at``, all at wall clock ``now``; then the sweeper finds the account
    idle for the whole quiet interval."""
    ordered = list(values)
    account = AccountReplay(config, stakeholders=stakeholders)
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(ordered)}), len(ordered)]
    for index in range(len(bounds) - 1):
        if plan is not None and index == plan_at:
            account.put_plan(plan, now)
        account.apply(ordered[bounds[index] : bounds[index + 1]], now)
    if plan is not None and plan_at >= len(bounds) - 1:
        account.put_plan(plan, now)
    account.sweep(now + config.quiet_after)
    return account
