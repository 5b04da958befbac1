"""Folding a consumer batch into one bucket delta per (tenant, account, metric, period)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.correlation.batch import BatchFold
from services.correlation.buckets import PeriodUnit, period_key

MONDAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_values_of_one_period_fold_into_one_delta() -> None:
    fold = BatchFold(PeriodUnit.WEEK)
    fold.add("t", "a", "m", 2.0, MONDAY)
    fold.add("t", "a", "m", 5.0, MONDAY + timedelta(days=2))
    fold.add("t", "a", "m", 1.0, MONDAY + timedelta(days=1))  # arrives late, older
    (bucket,) = list(fold)
    assert (bucket.count, bucket.sum, bucket.min, bucket.max) == (3, 8.0, 1.0, 5.0)
    assert bucket.last_value == 5.0 and bucket.period_key == "2026-W45"


def test_periods_accounts_and_metrics_get_their_own_deltas_in_a_stable_order() -> None:
    fold = BatchFold(PeriodUnit.DAY)
    fold.add("t", "b", "m", 1.0, MONDAY)
    fold.add("t", "a", "m", 1.0, MONDAY + timedelta(days=1))
    fold.add("t", "a", "m", 1.0, MONDAY)
    fold.add("t", "a", "n", 1.0, MONDAY)
    keys = [(b.account_id, b.metric, b.period_key) for b in fold]
    assert keys == [
        ("a", "m", "2026-11-02"),
        ("a", "m", "2026-11-03"),
        ("a", "n", "2026-11-02"),
        ("b", "m", "2026-11-02"),
    ]
    assert len(fold) == 4


def test_the_memoised_period_of_a_moment_agrees_with_period_key_across_offsets() -> None:
    rng = random.Random(7)
    offsets = [timezone(timedelta(hours=h, minutes=m)) for h, m in ((0, 0), (2, 0), (-5, -30))]
    for unit in PeriodUnit:
        fold = BatchFold(unit)
        for _ in range(2000):
            # Around midnights and week ends, where a local date and the UTC date differ.
            moment = (MONDAY + timedelta(minutes=rng.randrange(-3 * 1440, 10 * 1440))).astimezone(
                rng.choice(offsets)
            )
            assert fold.period_of(moment) == period_key(moment, unit), moment


def test_a_naive_moment_has_no_period() -> None:
    with pytest.raises(ValueError, match="aware"):
        BatchFold(PeriodUnit.WEEK).period_of(datetime(2026, 11, 2, 9))
