"""Value digests: which period is due for an account, and what its digest says (pure).

A tenant chooses a cadence (ISO weeks or calendar months), which equivalents and kinds its
digests carry, and whether entries we have not confirmed for their edition stay out of what is
pushed. A period is due once it ended and ``delay`` has passed, so events that arrive a little
late are still counted; each (account, period) gets exactly one digest (its id says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field

from services.equivalents.account_value import AccountValue
from services.equivalents.catalog import Kind
from services.equivalents.conversions import Equivalent
from shared.digests import Cadence, DigestEquivalent, ValueDigest


class DigestPreferences(BaseModel):
    """A tenant's choices for the digests of its accounts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cadence: Cadence = Cadence.WEEKLY
    equivalents: tuple[str, ...] | None = Field(
        default=None, description="Entry ids to include; all when not set."
    )
    kinds: tuple[Kind, ...] = Field(default=("action", "feel_good"), min_length=1)
    hide_unconfirmed: bool = Field(
        default=False,
        description="Leave out entries whose factor is not confirmed for its edition.",
    )


class Period(BaseModel):
    """One ISO week or calendar month, by its key and its first and last day."""

    model_config = ConfigDict(frozen=True)

    key: str
    start: date
    end: date


def period_of(day: date, cadence: Cadence) -> Period:
    """The period of ``cadence`` that contains ``day``."""
    if cadence is Cadence.WEEKLY:
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return Period(key=f"{year}-W{week:02d}", start=start, end=start + timedelta(days=6))
    start = day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(key=f"{start:%Y-%m}", start=start, end=following - timedelta(days=1))


def due_period(now: datetime, cadence: Cadence, delay: timedelta) -> Period:
    """The latest period that ended at least ``delay`` before ``now`` (UTC days)."""
    current = period_of((now - delay).astimezone(UTC).date(), cadence)
    return period_of(current.start - timedelta(days=1), cadence)


def period_ended_at(period: Period) -> datetime:
    """The instant a period ends: midnight UTC after its last day."""
    return datetime.combine(period.end + timedelta(days=1), time(), tzinfo=UTC)


def _shown(
    equivalents: Iterable[Equivalent], metric: str, preferences: DigestPreferences
) -> list[DigestEquivalent]:
    chosen = preferences.equivalents
    return [
        DigestEquivalent(
            id=e.id,
            kind=e.kind,
            metric=metric,
            label=e.label,
            text=e.text,
            amount=e.amount,
            value=e.value,
            unit=e.unit,
            source_title=e.source.title,
            source_edition=e.source.edition,
        )
        for e in equivalents
        if e.kind in preferences.kinds
        and (chosen is None or e.id in chosen)
        and (e.confirmed or not preferences.hide_unconfirmed)
    ]


def _by_kind(
    value: AccountValue, kind: Kind, preferences: DigestPreferences
) -> tuple[DigestEquivalent, ...]:
    return tuple(
        shown
        for metric in value.by_metric
        for shown in _shown(metric.equivalents, metric.metric, preferences)
        if shown.kind == kind
    )


def build_digest(
    *,
    tenant_id: str,
    account_id: str,
    period: Period,
    period_value: AccountValue,
    to_date_value: AccountValue,
    since: date | None,
    preferences: DigestPreferences,
    now: datetime,
) -> ValueDigest:
    """The digest of one account's ``period``: its value then, and the feel-good value to date."""
    return ValueDigest(
        id=ValueDigest.digest_id(tenant_id, account_id, period.key),
        tenant_id=tenant_id,
        account_id=account_id,
        cadence=preferences.cadence,
        period=period.key,
        period_start=period.start,
        period_end=period.end,
        action=_by_kind(period_value, "action", preferences),
        feel_good=_by_kind(period_value, "feel_good", preferences),
        to_date=_by_kind(to_date_value, "feel_good", preferences),
        since=since,
        occurred_at=now,
    )
