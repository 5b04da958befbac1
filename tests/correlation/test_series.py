from datetime import UTC, datetime, timedelta

import pytest

from services.correlation.buckets import Bucket, PeriodUnit, fold, period_start
from services.correlation.plans import Aggregation
from services.correlation.series import Series, aligned_pairs, build_series


def _bucket(week: str, *values: float, metric: str = "m") -> Bucket:
    """A bucket of ``values`` that happened one hour apart from the start of ``week``."""
    start = period_start(week)
    bucket = Bucket.open(
        tenant_id="t", account_id="a", metric=metric, value=values[0], occurred_at=start
    )
    for hour, value in enumerate(values[1:], start=1):
        bucket = fold(bucket, value, start + timedelta(hours=hour))
    return bucket


# W01: 2, 4, 3 -> sum 9, count 3, last 3, mean 3, min 2, max 4; W02 empty; W03: 10
BUCKETS = [_bucket("2024-W01", 2.0, 4.0, 3.0), _bucket("2024-W03", 10.0)]


@pytest.mark.parametrize(
    ("aggregation", "values"),
    [
        (Aggregation.SUM, (9.0, 0.0, 10.0)),
        (Aggregation.COUNT, (3.0, 0.0, 1.0)),
        (Aggregation.LAST, (3.0, None, 10.0)),
        (Aggregation.MEAN, (3.0, None, 10.0)),
        (Aggregation.MIN, (2.0, None, 10.0)),
        (Aggregation.MAX, (4.0, None, 10.0)),
    ],
)
def test_missing_periods_are_zero_for_counts_and_absent_for_levels(
    aggregation: Aggregation, values: tuple[float | None, ...]
) -> None:
    series = build_series("m", BUCKETS, aggregation)
    assert series.keys == ("2024-W01", "2024-W02", "2024-W03")
    assert series.values == values


def test_range_can_extend_past_the_buckets() -> None:
    series = build_series("m", BUCKETS, Aggregation.SUM, first="2023-W52", last="2024-W05")
    assert series.keys == ("2023-W52", "2024-W01", "2024-W02", "2024-W03", "2024-W04", "2024-W05")
    assert series.values == (0.0, 9.0, 0.0, 10.0, 0.0, 0.0)


def test_buckets_outside_the_range_are_left_out() -> None:
    series = build_series("m", BUCKETS, Aggregation.SUM, first="2024-W02")
    assert series.values == (0.0, 10.0)


def test_no_buckets_and_no_range_is_an_empty_series() -> None:
    assert build_series("m", [], Aggregation.SUM) == Series("m", PeriodUnit.WEEK, (), ())


def test_bucket_of_another_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="other"):
        build_series("m", [_bucket("2024-W01", 1.0, metric="other")], Aggregation.SUM)


def test_two_buckets_for_one_period_are_refused() -> None:
    with pytest.raises(ValueError, match="two buckets"):
        build_series("m", [_bucket("2024-W01", 1.0), _bucket("2024-W01", 2.0)], Aggregation.SUM)


def test_latest_skips_unknown_trailing_periods() -> None:
    series = Series("m", PeriodUnit.WEEK, ("2024-W01", "2024-W02"), (4.0, None))
    assert series.latest() == ("2024-W01", 4.0)
    assert Series("m", PeriodUnit.WEEK, (), ()).latest() is None


def test_aligned_pairs_shift_the_following_series_and_skip_unknowns() -> None:
    leading = Series(
        "a", PeriodUnit.WEEK, ("2024-W01", "2024-W02", "2024-W03", "2024-W04"), (1.0, 2.0, 3.0, 4.0)
    )
    following = Series(
        "p", PeriodUnit.WEEK, ("2024-W02", "2024-W03", "2024-W04", "2024-W05"), (20, None, 40, 50)
    )
    # lag 1: W01->W02 (1, 20), W02->W03 unknown, W03->W04 (3, 40), W04->W05 (4, 50)
    assert aligned_pairs(leading, following, 1) == ((1.0, 3.0, 4.0), (20, 40, 50))
    # lag 0: only W02..W04 overlap, W03 unknown
    assert aligned_pairs(leading, following, 0) == ((2.0, 4.0), (20, 40))


def test_series_keys_and_values_must_match() -> None:
    with pytest.raises(ValueError):
        Series("m", PeriodUnit.WEEK, ("2024-W01",), ())


def test_series_of_different_units_cannot_be_aligned() -> None:
    week = Series("a", PeriodUnit.WEEK, ("2024-W01",), (1.0,))
    day = Series("b", PeriodUnit.DAY, ("2024-01-01",), (1.0,))
    with pytest.raises(ValueError):
        aligned_pairs(week, day, 0)


def test_daily_series() -> None:
    start = datetime(2024, 1, 1, 9, tzinfo=UTC)
    buckets = [
        Bucket.open(
            tenant_id="t",
            account_id="a",
            metric="m",
            value=v,
            occurred_at=start + timedelta(days=d),
            unit=PeriodUnit.DAY,
        )
        for d, v in ((0, 1.0), (2, 5.0))
    ]
    series = build_series("m", buckets, Aggregation.SUM, unit=PeriodUnit.DAY)
    assert series.keys == ("2024-01-01", "2024-01-02", "2024-01-03")
    assert series.values == (1.0, 0.0, 5.0)
