"""Series: one value per consecutive period for one metric, built from its buckets.

Missing periods are 0 for sums and counts (no events means none happened) and absent (``None``)
for levels such as a conversion rate, where no report does not mean a rate of 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from services.correlation.buckets import Bucket, PeriodUnit, period_range, shift_period
from services.correlation.plans import Aggregation


@dataclass(frozen=True)
class Series:
    """Values of ``metric`` over the consecutive periods ``keys``; ``None`` where unknown."""

    metric: str
    unit: PeriodUnit
    keys: tuple[str, ...]
    values: tuple[float | None, ...]

    def __post_init__(self) -> None:
        if len(self.keys) != len(self.values):
            raise ValueError("a series needs one value per period key")

    def present(self) -> Iterator[tuple[int, float]]:
        """(position, value) of every known value, in period order."""
        return ((i, value) for i, value in enumerate(self.values) if value is not None)

    def latest(self) -> tuple[str, float] | None:
        """The last known (period key, value), or None for an empty series."""
        for key, value in zip(reversed(self.keys), reversed(self.values), strict=True):
            if value is not None:
                return key, value
        return None


def bucket_value(bucket: Bucket, aggregation: Aggregation) -> float:
    """One bucket reduced with ``aggregation``."""
    match aggregation:
        case Aggregation.SUM:
            return bucket.sum
        case Aggregation.COUNT:
            return float(bucket.count)
        case Aggregation.LAST:
            return bucket.last_value
        case Aggregation.MEAN:
            return bucket.mean
        case Aggregation.MIN:
            return bucket.min
        case Aggregation.MAX:
            return bucket.max


def build_series(
    metric: str,
    buckets: Iterable[Bucket],
    aggregation: Aggregation,
    *,
    unit: PeriodUnit = PeriodUnit.WEEK,
    first: str | None = None,
    last: str | None = None,
) -> Series:
    """The series of ``metric`` from ``first`` to ``last`` (default: its first/last bucket).

    ``buckets`` are one account's buckets of ``metric``; buckets outside the range are ignored.
    Pass ``last=last_complete_period(now)`` so that trailing periods without events count as 0
    for sums and the running period does not look like a drop.
    """
    by_key: dict[str, Bucket] = {}
    for bucket in buckets:
        if bucket.metric != metric or bucket.unit is not unit:
            raise ValueError(f"bucket {bucket.metric}/{bucket.unit} in the series of {metric}")
        if bucket.period_key in by_key:
            raise ValueError(f"two buckets for period {bucket.period_key} of {metric}")
        by_key[bucket.period_key] = bucket
    if not by_key and (first is None or last is None):
        return Series(metric, unit, (), ())
    start = first if first is not None else min(by_key)
    end = last if last is not None else max(by_key)
    keys = period_range(start, end, unit)
    missing = 0.0 if aggregation.fills_with_zero else None
    values = tuple(
        bucket_value(by_key[key], aggregation) if key in by_key else missing for key in keys
    )
    return Series(metric, unit, keys, values)


def aligned_pairs(
    leading: Series, following: Series, lag: int
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Values of ``leading`` at t paired with ``following`` at t + ``lag`` where both are known."""
    if leading.unit is not following.unit:
        raise ValueError("series of different period units cannot be aligned")
    later = dict(zip(following.keys, following.values, strict=True))
    # Keys are consecutive periods: when both series cover the same ones (as an account's
    # series do), t + lag is a position, which saves a calendar computation per point.
    same_keys = leading.keys == following.keys
    xs: list[float] = []
    ys: list[float] = []
    for i, (key, x) in enumerate(zip(leading.keys, leading.values, strict=True)):
        if same_keys:
            y = following.values[i + lag] if i + lag < len(following.values) else None
        else:
            y = later.get(shift_period(key, lag, leading.unit))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return tuple(xs), tuple(ys)


class EvidenceGap(StrEnum):
    """Why a series cannot support a number."""

    TOO_FEW_POINTS = "too_few_points"
    CONSTANT_SERIES = "constant_series"


@dataclass(frozen=True)
class InsufficientEvidence:
    """Not enough data to answer: a state of its own, never a number or NaN."""

    reason: EvidenceGap
    points: int
    required: int
