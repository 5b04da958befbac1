"""Period keys and metric buckets: the fold of one metric's values into one period.

A period is an ISO week (``2024-W05``, the default) or a calendar day (``2024-02-01``), always in
UTC. A bucket summarises one (tenant, account, metric, period) and is folded by ``occurred_at``, so
late and out-of-order events land in the period they happened in and only move ``last_value``
when they are newer than the value it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class PeriodUnit(StrEnum):
    """How long one bucket lasts."""

    WEEK = "week"
    DAY = "day"


_STEP = {PeriodUnit.WEEK: timedelta(weeks=1), PeriodUnit.DAY: timedelta(days=1)}


def period_key(moment: datetime, unit: PeriodUnit = PeriodUnit.WEEK) -> str:
    """The key of the UTC period containing ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("period_key needs an aware datetime")
    day = moment.astimezone(UTC).date()
    if unit is PeriodUnit.DAY:
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def period_start(key: str, unit: PeriodUnit = PeriodUnit.WEEK) -> datetime:
    """The first instant (UTC) of the period ``key``; raises ValueError on a malformed key."""
    if unit is PeriodUnit.DAY:
        first_day = date.fromisoformat(key)
    else:
        year, sep, week = key.partition("-W")
        if not sep or len(week) != 2:
            raise ValueError(f"not an ISO week key: {key!r}")
        first_day = date.fromisocalendar(int(year), int(week), 1)
    return datetime.combine(first_day, time(), tzinfo=UTC)


def period_end(key: str, unit: PeriodUnit = PeriodUnit.WEEK) -> datetime:
    """The first instant after the period ``key`` (exclusive end)."""
    return period_start(key, unit) + _STEP[unit]


def shift_period(key: str, steps: int, unit: PeriodUnit = PeriodUnit.WEEK) -> str:
    """The key ``steps`` periods after ``key`` (before it when negative)."""
    return period_key(period_start(key, unit) + steps * _STEP[unit], unit)


def periods_between(first: str, last: str, unit: PeriodUnit = PeriodUnit.WEEK) -> int:
    """How many periods ``last`` is after ``first`` (negative when it is before)."""
    return (period_start(last, unit) - period_start(first, unit)) // _STEP[unit]


def period_range(first: str, last: str, unit: PeriodUnit = PeriodUnit.WEEK) -> tuple[str, ...]:
    """Every period key from ``first`` to ``last``, both included (empty if last < first)."""
    count = periods_between(first, last, unit) + 1
    return tuple(shift_period(first, i, unit) for i in range(count))


def last_complete_period(now: datetime, unit: PeriodUnit = PeriodUnit.WEEK) -> str:
    """The latest period that has fully ended at ``now``: rules judge only finished periods."""
    return shift_period(period_key(now, unit), -1, unit)


@dataclass(frozen=True)
class Bucket:
    """One metric's values in one period for one account."""

    tenant_id: str
    account_id: str
    metric: str
    unit: PeriodUnit
    period_key: str
    count: int
    sum: float
    min: float
    max: float
    last_value: float
    last_at: datetime

    @classmethod
    def open(
        cls,
        *,
        tenant_id: str,
        account_id: str,
        metric: str,
        value: float,
        occurred_at: datetime,
        unit: PeriodUnit = PeriodUnit.WEEK,
    ) -> Bucket:
        """A bucket holding a single value, in the period ``occurred_at`` belongs to."""
        return cls(
            tenant_id=tenant_id,
            account_id=account_id,
            metric=metric,
            unit=unit,
            period_key=period_key(occurred_at, unit),
            count=1,
            sum=value,
            min=value,
            max=value,
            last_value=value,
            last_at=occurred_at,
        )

    @property
    def mean(self) -> float:
        """Mean of the folded values."""
        return self.sum / self.count


def fold(bucket: Bucket, value: float, occurred_at: datetime) -> Bucket:
    """``bucket`` with ``value`` added; raises ValueError if it happened in another period.

    ``last_value`` follows ``occurred_at``, not arrival: an older value arriving late changes the
    aggregates but not the last value. On equal times the later arrival wins, which is
    deterministic because one account's events keep their order in one Kafka partition.
    """
    key = period_key(occurred_at, bucket.unit)
    if key != bucket.period_key:
        raise ValueError(f"value of period {key} folded into bucket {bucket.period_key}")
    newer = occurred_at >= bucket.last_at
    return replace(
        bucket,
        count=bucket.count + 1,
        sum=bucket.sum + value,
        min=min(bucket.min, value),
        max=max(bucket.max, value),
        last_value=value if newer else bucket.last_value,
        last_at=occurred_at if newer else bucket.last_at,
    )
