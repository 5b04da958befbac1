"""A consumer batch folded in memory: one bucket delta per (tenant, account, metric, period).

The store then upserts each delta once, so a batch of 500 events of a few metrics costs a few
row updates instead of 500. Accumulators are mutable on this hot path (one per delta, private
to the fold) and become ``Bucket`` values on the way out; the semantics are ``buckets.fold``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from services.correlation.buckets import Bucket, PeriodUnit, period_key

BucketKey = tuple[str, str, str, str]


class _Accumulator:
    __slots__ = ("count", "last_at", "last_value", "max", "min", "sum")

    def __init__(self, value: float, occurred_at: datetime) -> None:
        self.count = 1
        self.sum = self.min = self.max = self.last_value = value
        self.last_at = occurred_at

    def add(self, value: float, occurred_at: datetime) -> None:
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        elif value > self.max:
            self.max = value
        # As in buckets.fold: the last value follows occurred_at; ties go to the later arrival.
        if occurred_at >= self.last_at:
            self.last_value, self.last_at = value, occurred_at


class BatchFold:
    """Accumulates values into bucket deltas keyed by (tenant, account, metric, period)."""

    def __init__(self, unit: PeriodUnit) -> None:
        self.unit = unit
        self._deltas: dict[BucketKey, _Accumulator] = {}
        self._periods: dict[int, str] = {}

    def add(
        self,
        tenant_id: str,
        account_id: str,
        metric: str,
        value: float,
        occurred_at: datetime,
        *,
        period: str | None = None,
    ) -> str:
        """Fold one value into the delta of its period (pass ``period`` if already known);
        returns the period key."""
        key_of_period = period or self.period_of(occurred_at)
        key = (tenant_id, account_id, metric, key_of_period)
        current = self._deltas.get(key)
        if current is None:
            self._deltas[key] = _Accumulator(value, occurred_at)
        else:
            current.add(value, occurred_at)
        return key_of_period

    def period_of(self, moment: datetime) -> str:
        """``period_key(moment, unit)``, memoised per UTC day: a batch spans few days, and this
        runs for every event."""
        offset = moment.utcoffset()
        if offset is None:
            raise ValueError("period_of needs an aware datetime")
        if offset:
            moment = moment.astimezone(UTC)
        day = moment.toordinal()
        key = self._periods.get(day)
        if key is None:
            key = self._periods[day] = period_key(moment, self.unit)
        return key

    def __iter__(self) -> Iterator[Bucket]:
        # Sorted so that concurrent upserts lock rows in the same order (no deadlocks).
        for key in sorted(self._deltas):
            tenant_id, account_id, metric, period = key
            delta = self._deltas[key]
            yield Bucket(
                tenant_id=tenant_id,
                account_id=account_id,
                metric=metric,
                unit=self.unit,
                period_key=period,
                count=delta.count,
                sum=delta.sum,
                min=delta.min,
                max=delta.max,
                last_value=delta.last_value,
                last_at=delta.last_at,
            )

    def __len__(self) -> int:
        return len(self._deltas)

    def extents(self) -> dict[tuple[str, str], tuple[datetime, str]]:
        """(tenant, account) -> (latest occurred_at, earliest period) of the values folded."""
        found: dict[tuple[str, str], tuple[datetime, str]] = {}
        for (tenant_id, account_id, _, period), delta in self._deltas.items():
            key = (tenant_id, account_id)
            known = found.get(key)
            if known is None:
                found[key] = (delta.last_at, period)
            else:
                found[key] = (max(known[0], delta.last_at), min(known[1], period))
        return found
