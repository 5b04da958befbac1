"""An account's health as of each past period, for the trend a CSM reads. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.correlation import health as health_rules
from services.correlation.buckets import period_end, shift_period
from services.correlation.evaluation import AccountState, account_series, health_inputs
from services.correlation.event_time import EvaluationConfig
from shared.signals import SignalType


@dataclass(frozen=True)
class SignalSpan:
    """When a signal was open in event time: from its ``as_of`` to its resolution's."""

    signal_type: SignalType
    opened: datetime
    closed: datetime | None


def health_history(
    state: AccountState,
    spans: Sequence[SignalSpan],
    now: datetime,
    config: EvaluationConfig,
    *,
    through: str,
    periods: int,
) -> list[tuple[str, float]]:
    """The account's health as of each of the last ``periods`` periods up to ``through``: its
    series cut at each period's end and the signals open then (by their event-time dates), with
    the people as they are now. A trend a CSM can read, also for history backfilled at once."""
    history = []
    for back in range(periods - 1, -1, -1):
        period = shift_period(through, -back, config.unit)
        series = account_series(state, now, config, through=period)
        if not series:
            continue
        end = period_end(period, config.unit)
        open_then = [
            span.signal_type
            for span in spans
            if span.opened <= end and (span.closed is None or span.closed > end)
        ]
        health = health_rules.score_health(health_inputs(state, series, open_then), config.weights)
        history.append((period, health.score))
    return history
