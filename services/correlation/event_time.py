"""Event time: how far an account's data and its judgement have come, and when its rules run.

An account's *watermark* is the latest ``occurred_at`` of a value applied to it. A period is
*complete* once the watermark has passed its end by the allowed lateness, and never before the
wall clock has. The period rules judge an account only when its data is *current* (complete
through the last period the wall clock completed); until then it is *catching up*, and an
account whose events stopped is judged by the wall clock once it was idle long enough.
``on_events``, ``on_change`` and ``on_sweep`` say what each trigger makes an evaluation run.

An account is one key of its tenant's stream, so its silence is read against the stream's, as
stream processors tell an idle source from a slow one: an account whose data lags the wall
clock by more than a period is judged by the clock only once its tenant's stream went quiet
too, or carries current data for other accounts. While the tenant is still sending history
that lags (a backfill, account after account), an account whose history has all arrived is
waiting for its live weeks, not silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.correlation import health as health_rules
from services.correlation import risk
from services.correlation.buckets import (
    PeriodUnit,
    last_complete_period,
    shift_period,
)


@dataclass(frozen=True)
class EvaluationConfig:
    """The knobs of an evaluation; the service settings fill it."""

    unit: PeriodUnit = PeriodUnit.WEEK
    periods: int = 26
    max_lag: int = 4
    min_points: int = 10
    false_discovery_rate: float = 0.05
    allowed_lateness: timedelta = timedelta(hours=1)
    tail_idle: timedelta = timedelta(seconds=10)
    quiet_after: timedelta = timedelta(hours=1)
    thresholds: risk.RiskThresholds = field(default_factory=risk.RiskThresholds)
    weights: health_rules.HealthWeights = field(default_factory=health_rules.HealthWeights)

    @property
    def step(self) -> timedelta:
        """One period."""
        return timedelta(weeks=1) if self.unit is PeriodUnit.WEEK else timedelta(days=1)


@dataclass(frozen=True)
class Progress:
    """How far an account's data and its judgement have come (kept on the account's row).

    ``watermark`` is the latest event time of a value applied; ``judged_through`` the last
    period the period rules judged; ``rejudge`` says a value arrived for a period already
    judged (late data, or history sent after live data); ``touched_at`` is when an event was
    last applied (processing time), to tell an idle account from a busy one.
    """

    watermark: datetime | None = None
    judged_through: str | None = None
    rejudge: bool = False
    touched_at: datetime | None = None


def clock_through(now: datetime, config: EvaluationConfig) -> str:
    """The last period the wall clock has completed: its end plus the allowed lateness passed."""
    return last_complete_period(now - config.allowed_lateness, config.unit)


def watermark_through(
    watermark: datetime | None, now: datetime, config: EvaluationConfig
) -> str | None:
    """The last period complete by the account's watermark, never beyond the wall clock's; None
    before any value."""
    if watermark is None:
        return None
    return last_complete_period(min(watermark, now) - config.allowed_lateness, config.unit)


def is_current(progress: Progress, now: datetime, config: EvaluationConfig) -> bool:
    """Whether the account's data (or its judgement by the wall clock) reaches the last period
    the wall clock completed: its period rules may be read as they stand."""
    clock = clock_through(now, config)
    return (
        watermark_through(progress.watermark, now, config) == clock
        or progress.judged_through == clock
    )


def due_on_events(progress: Progress, now: datetime, config: EvaluationConfig) -> str | None:
    """The period through which events just applied make the period rules judge the account:
    its watermark completed a period not judged yet and its data is current. None otherwise
    (nothing new is complete, or it is still catching up)."""
    through = watermark_through(progress.watermark, now, config)
    if through is None or through != clock_through(now, config):
        return None
    if progress.judged_through is not None and progress.judged_through >= through:
        return None
    return through


@dataclass(frozen=True)
class TenantStream:
    """The tenant's stream as a whole: the latest event time applied to any of its accounts,
    and when an event last reached any of them (processing time)."""

    watermark: datetime | None
    touched_at: datetime | None

    def settled(self, now: datetime, config: EvaluationConfig) -> bool:
        """Whether an account of this tenant that lags may be taken as silent: the stream went
        quiet (no event for ``quiet_after``), or it carries current data for some account."""
        if self.touched_at is None or now - self.touched_at >= config.quiet_after:
            return True
        return _near(watermark_through(self.watermark, now, config), now, config)


def _near(mark: str | None, now: datetime, config: EvaluationConfig) -> bool:
    """Whether data complete through ``mark`` misses at most the last period the clock
    completed."""
    clock = clock_through(now, config)
    return mark is not None and mark >= shift_period(clock, -1, config.unit)


def due_when_idle(
    progress: Progress,
    now: datetime,
    config: EvaluationConfig,
    tenant: TenantStream | None = None,
) -> str | None:
    """The period through which the wall clock judges an idle account (the sweeper), or None.

    Due when a period the clock completed was not judged, or late data arrived, and no event
    reached the account for ``tail_idle`` when only the last period is missing from its data,
    or for ``quiet_after`` when it lags further: a history paused mid-way must not read as a
    silent account. An account that lags further waits for its ``tenant``'s stream to settle
    too (``TenantStream.settled``): a tenant still sending lagging history is catching up.
    """
    clock = clock_through(now, config)
    if progress.judged_through == clock and not progress.rejudge:
        return None
    if progress.touched_at is None:
        return None
    if _near(watermark_through(progress.watermark, now, config), now, config):
        return clock if now - progress.touched_at >= config.tail_idle else None
    if tenant is not None and not tenant.settled(now, config):
        return None
    return clock if now - progress.touched_at >= config.quiet_after else None


class Scope(StrEnum):
    """Which rules an evaluation runs."""

    LIFECYCLE = "lifecycle"
    """Catching up: the people and organisation rules only (a plan put before the people's
    history would read as ownerless)."""
    CURRENT = "current"
    """Current: the lifecycle rules and the adoption owner."""
    JUDGEMENT = "judgement"
    """Every rule, on the periods through the ones judged now."""


Judged = tuple[Scope | None, str | None]
"""What to evaluate: the scope (None: nothing) and the period the period rules read through."""


def on_events(
    progress: Progress, now: datetime, config: EvaluationConfig, *, lifecycle: bool
) -> Judged:
    """What applying events makes the account's evaluation run: every rule once its watermark
    completed a period and its data is current; otherwise, for lifecycle events, the rules a
    current account or one catching up may run; nothing for values that complete nothing."""
    due = due_on_events(progress, now, config)
    if due is not None:
        return Scope.JUDGEMENT, due
    if not lifecycle:
        return None, None
    return _between_judgements(progress, now, config)


def on_change(progress: Progress, now: datetime, config: EvaluationConfig, *, plan: bool) -> Judged:
    """What a plan put or a signal acknowledged makes the account's evaluation run: a new plan
    is judged again on the periods already judged (or due) while the account is current."""
    due = due_on_events(progress, now, config)
    if due is not None:
        return Scope.JUDGEMENT, due
    if plan and progress.judged_through is not None and is_current(progress, now, config):
        return Scope.JUDGEMENT, progress.judged_through
    return _between_judgements(progress, now, config)


def on_sweep(
    progress: Progress,
    now: datetime,
    config: EvaluationConfig,
    tenant: TenantStream | None = None,
) -> tuple[Scope, str | None]:
    """What the sweeper runs for an account it found idle or not evaluated for a while: a
    judgement by the wall clock when one is due, otherwise the time-driven lifecycle rules (a
    reorganisation's quiet window ends)."""
    due = due_when_idle(progress, now, config, tenant)
    if due is not None:
        return Scope.JUDGEMENT, due
    return _between_judgements(progress, now, config)


def _between_judgements(
    progress: Progress, now: datetime, config: EvaluationConfig
) -> tuple[Scope, str | None]:
    if progress.judged_through is not None and is_current(progress, now, config):
        return Scope.CURRENT, progress.judged_through
    return Scope.LIFECYCLE, None
