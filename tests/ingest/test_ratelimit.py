"""The per-tenant token bucket: spending, refill, the burst cap and retry-after."""

from __future__ import annotations

import pytest

from services.ingest.ratelimit import (
    Bucket,
    TenantBuckets,
    full_bucket,
    retry_after_header,
    take,
)

RATE = 2.0  # tokens per second
BURST = 10.0


def test_a_new_tenant_can_spend_its_whole_burst_at_once() -> None:
    state, allowed, retry = take(full_bucket(BURST, now=100.0), 100.0, 10, RATE, BURST)
    assert (allowed, retry) == (True, 0.0)
    assert state == Bucket(tokens=0.0, updated_at=100.0)


def test_refill_then_retry_after_then_success() -> None:
    empty = Bucket(tokens=0.0, updated_at=100.0)
    # One second later 1 s x 2/s = 2 tokens have refilled; 3 are needed: wait (3 - 2) / 2 = 0.5 s.
    state, allowed, retry = take(empty, 101.0, 3, RATE, BURST)
    assert allowed is False
    assert retry == pytest.approx(0.5)
    assert state == Bucket(tokens=2.0, updated_at=101.0)  # refused: nothing spent
    # After the advertised 0.5 s: 2 + 0.5 x 2 = 3 tokens, exactly enough.
    state, allowed, retry = take(state, 101.5, 3, RATE, BURST)
    assert (allowed, retry) == (True, 0.0)
    assert state.tokens == pytest.approx(0.0)


def test_refill_is_capped_at_the_burst() -> None:
    # An hour idle would refill 3600 x 2 = 7200 tokens, but the bucket holds 10: 10 - 4 = 6.
    state, allowed, _ = take(Bucket(0.0, 0.0), 3600.0, 4, RATE, BURST)
    assert allowed is True
    assert state.tokens == pytest.approx(6.0)


def test_a_clock_stepping_backwards_mints_no_tokens() -> None:
    state, allowed, retry = take(Bucket(1.0, 100.0), 90.0, 2, RATE, BURST)
    assert allowed is False
    assert retry == pytest.approx(0.5)  # (2 - 1) / 2
    assert state == Bucket(1.0, 100.0)


@pytest.mark.parametrize(("cost", "rate"), [(11.0, RATE), (-1.0, RATE), (1.0, 0.0)])
def test_impossible_requests_are_configuration_errors(cost: float, rate: float) -> None:
    with pytest.raises(ValueError):
        take(full_bucket(BURST, 0.0), 0.0, cost, rate, BURST)


@pytest.mark.parametrize(("seconds", "header"), [(0.0, 1), (0.5, 1), (2.0, 2), (2.01, 3)])
def test_retry_after_header_rounds_up_to_whole_seconds(seconds: float, header: int) -> None:
    assert retry_after_header(seconds) == header


def test_tenant_buckets_limit_each_tenant_on_its_own() -> None:
    now = [0.0]
    buckets = TenantBuckets(rate=RATE, burst=BURST, clock=lambda: now[0])
    assert buckets.take("tn_a", 10) == 0.0
    assert buckets.take("tn_a", 1) == pytest.approx(0.5)
    assert buckets.take("tn_b", 10) == 0.0
    now[0] = 0.5
    assert buckets.take("tn_a", 1) == 0.0


def test_a_request_larger_than_the_burst_costs_a_full_bucket() -> None:
    buckets = TenantBuckets(rate=RATE, burst=BURST, clock=lambda: 0.0)
    assert buckets.take("tn_a", 50) == 0.0
    assert buckets.take("tn_a", 1) > 0
