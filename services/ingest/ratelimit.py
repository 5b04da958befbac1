"""Per-tenant rate limiting as a pure token bucket.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a request costs
``cost`` tokens (the service decides: one per request or one per event). Times are seconds on any
monotonic clock the caller reads; the state is a value, so it can live in memory or a database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens left at ``updated_at`` (seconds on the caller's clock)."""

    tokens: float
    updated_at: float


def full_bucket(burst: float, now: float) -> Bucket:
    """The bucket of a tenant seen for the first time: full, so a first burst passes."""
    return Bucket(tokens=burst, updated_at=now)


def take(
    state: Bucket, now: float, cost: float, rate: float, burst: float
) -> tuple[Bucket, bool, float]:
    """Refill for the time elapsed, then spend ``cost`` tokens if there are enough.

    Returns ``(new_state, allowed, retry_after_seconds)``; ``retry_after_seconds`` is 0 when
    allowed, else how long until the refill covers ``cost``. A refused request spends nothing.
    Raises ``ValueError`` for a non-positive rate or a cost the bucket could never hold
    (the service must keep ``burst`` at least its largest cost, e.g. the maximum batch).
    """
    if rate <= 0 or burst <= 0:
        raise ValueError("rate and burst must be positive")
    if cost < 0 or cost > burst:
        raise ValueError(f"cost {cost} is outside 0..burst ({burst})")
    # A clock that steps backwards must not mint tokens, nor take any away.
    elapsed = max(0.0, now - state.updated_at)
    tokens = min(burst, state.tokens + elapsed * rate)
    updated_at = max(now, state.updated_at)
    if tokens >= cost:
        return Bucket(tokens - cost, updated_at), True, 0.0
    return Bucket(tokens, updated_at), False, (cost - tokens) / rate


def retry_after_header(seconds: float) -> int:
    """Whole seconds for a ``Retry-After`` header: rounded up, at least 1."""
    return max(1, math.ceil(seconds))


class TenantBuckets:
    """One in-memory bucket per tenant, for one service instance.

    Each instance limits on its own, so N instances behind a load balancer admit up to N times
    the rate; that is the documented trade-off for keeping ingest stateless. ``cost`` is clamped
    to ``burst`` so an oversized request spends a full bucket instead of never passing.
    """

    def __init__(
        self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}

    def take(self, tenant_id: str, cost: float) -> float:
        """Spend ``cost`` tokens of the tenant; returns 0 when allowed, else seconds to wait."""
        now = self._clock()
        state = self._buckets.get(tenant_id) or full_bucket(self._burst, now)
        state, allowed, retry_after = take(
            state, now, min(cost, self._burst), self._rate, self._burst
        )
        self._buckets[tenant_id] = state
        return 0.0 if allowed else retry_after
