from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.correlation.buckets import (
    Bucket,
    PeriodUnit,
    fold,
    last_complete_period,
    period_end,
    period_key,
    period_range,
    period_start,
    periods_between,
    shift_period,
)


def _at(day: int, hour: int = 12, month: int = 1, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        (datetime(2024, 1, 1, tzinfo=UTC), "2024-W01"),  # a Monday: the first ISO week of 2024
        (datetime(2024, 1, 7, 23, 59, tzinfo=UTC), "2024-W01"),  # its Sunday
        (datetime(2023, 1, 1, tzinfo=UTC), "2022-W52"),  # Sunday 1 Jan belongs to 2022's week
        (datetime(2020, 12, 31, tzinfo=UTC), "2020-W53"),  # 2020 has 53 ISO weeks
        (datetime(2021, 1, 3, tzinfo=UTC), "2020-W53"),
    ],
)
def test_week_key_is_the_iso_week(moment: datetime, key: str) -> None:
    assert period_key(moment) == key


def test_period_is_taken_in_utc() -> None:
    # Sunday 23:30 in New York is Monday 04:30 UTC, so the next ISO week.
    moment = datetime(2024, 1, 7, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period_key(moment) == "2024-W02"
    assert period_key(moment, PeriodUnit.DAY) == "2024-01-08"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_key(datetime(2024, 1, 1))


def test_week_start_and_end_are_monday_midnights() -> None:
    assert period_start("2024-W01") == datetime(2024, 1, 1, tzinfo=UTC)
    assert period_end("2024-W01") == datetime(2024, 1, 8, tzinfo=UTC)
    assert period_start("2020-W53") == datetime(2020, 12, 28, tzinfo=UTC)


def test_day_start_and_end() -> None:
    assert period_start("2024-02-29", PeriodUnit.DAY) == datetime(2024, 2, 29, tzinfo=UTC)
    assert period_end("2024-02-29", PeriodUnit.DAY) == datetime(2024, 3, 1, tzinfo=UTC)


def test_malformed_week_key_is_refused() -> None:
    with pytest.raises(ValueError):
        period_start("2024-01")


def test_shift_crosses_year_boundaries() -> None:
    assert shift_period("2020-W53", 1) == "2021-W01"
    assert shift_period("2021-W01", -1) == "2020-W53"
    assert shift_period("2024-12-31", 1, PeriodUnit.DAY) == "2025-01-01"


def test_periods_between_counts_whole_periods() -> None:
    # 2020 has 53 weeks: W50 -> W53 is 3, then 2021-W01..W02 adds 2.
    assert periods_between("2020-W50", "2021-W02") == 5
    assert periods_between("2021-W02", "2020-W50") == -5


def test_period_range_includes_both_ends() -> None:
    assert period_range("2020-W52", "2021-W01") == ("2020-W52", "2020-W53", "2021-W01")
    assert period_range("2024-W05", "2024-W04") == ()


def test_last_complete_period_is_the_one_before_now() -> None:
    assert last_complete_period(_at(10)) == "2024-W01"  # Wed 10 Jan is in W02
    assert last_complete_period(_at(10), PeriodUnit.DAY) == "2024-01-09"


def _bucket(value: float, occurred_at: datetime) -> Bucket:
    return Bucket.open(
        tenant_id="t", account_id="a", metric="m", value=value, occurred_at=occurred_at
    )


def test_fold_accumulates_count_sum_min_max() -> None:
    bucket = _bucket(5.0, _at(1))
    for value, day in ((2.0, 2), (9.0, 3)):
        bucket = fold(bucket, value, _at(day))
    assert (bucket.count, bucket.sum, bucket.min, bucket.max) == (3, 16.0, 2.0, 9.0)
    assert bucket.mean == pytest.approx(16.0 / 3)
    assert (bucket.last_value, bucket.last_at) == (9.0, _at(3))


def test_late_event_updates_aggregates_but_not_last_value() -> None:
    bucket = fold(_bucket(5.0, _at(4)), 1.0, _at(2))
    assert (bucket.count, bucket.sum, bucket.min) == (2, 6.0, 1.0)
    assert (bucket.last_value, bucket.last_at) == (5.0, _at(4))


def test_newer_event_replaces_last_value() -> None:
    bucket = fold(_bucket(5.0, _at(2)), 7.0, _at(4))
    assert (bucket.last_value, bucket.last_at) == (7.0, _at(4))


def test_equal_times_let_the_later_arrival_win() -> None:
    bucket = fold(_bucket(5.0, _at(2)), 7.0, _at(2))
    assert bucket.last_value == 7.0


def test_value_from_another_period_is_refused() -> None:
    with pytest.raises(ValueError, match="2024-W02"):
        fold(_bucket(5.0, _at(2)), 1.0, _at(9))


def test_daily_bucket_is_keyed_by_day() -> None:
    bucket = Bucket.open(
        tenant_id="t",
        account_id="a",
        metric="m",
        value=1.0,
        occurred_at=_at(3),
        unit=PeriodUnit.DAY,
    )
    assert bucket.period_key == "2024-01-03"
    with pytest.raises(ValueError):
        fold(bucket, 1.0, _at(4))
