"""What value a recommendation quotes, from the account's value digests (pure).

``objective_achieved`` quotes the feel-good value delivered to date ("you have arrived, and on
the way you saved ..."); ``adoption_drop`` quotes what the account gained per period at the pace
before the drop (action equivalents: what the drop puts at stake). When no digest says it, there
is no quote and the recommendation goes out without a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.digests import Cadence, DigestEquivalent, ValueDigest
from shared.signals import SignalType

QUOTED_ITEMS = 3


@dataclass(frozen=True)
class ValueQuote:
    """A sentence for the recommendation's message and the figures behind it."""

    sentence: str
    items: tuple[DigestEquivalent, ...]
    digest_id: str
    period: str

    def evidence(self) -> dict[str, Any]:
        """The quote as evidence: each figure with its source."""
        return {
            "digest_id": self.digest_id,
            "period": self.period,
            "equivalents": [item.model_dump(mode="json") for item in self.items],
        }


def quote_value(
    signal_type: SignalType, evidence: Mapping[str, Any], digests: Sequence[ValueDigest]
) -> ValueQuote | None:
    """The value to quote for a raised signal, or None (newest digest first in ``digests``)."""
    if not digests:
        return None
    if signal_type is SignalType.OBJECTIVE_ACHIEVED:
        latest = digests[0]
        items = latest.to_date[:QUOTED_ITEMS]
        if not items:
            return None
        since = f" since {latest.since:%d %b %Y}" if latest.since else ""
        return ValueQuote(
            f"Value delivered{since}: {_list(items)}.", items, latest.id, latest.period
        )
    if signal_type is SignalType.ADOPTION_DROP:
        started = _period_start(str(evidence.get("drop_started") or ""))
        before = [d for d in digests if started is None or d.period_end < started]
        if not before or not before[0].action:
            return None
        pace = before[0]
        items = pace.action[:QUOTED_ITEMS]
        per = "a week" if pace.cadence is Cadence.WEEKLY else "a month"
        return ValueQuote(
            f"At the pace before the drop the account gained {_list(items)} {per} "
            f"({pace.period}): that is what the drop puts at stake.",
            items,
            pace.id,
            pace.period,
        )
    return None


def _list(items: Sequence[DigestEquivalent]) -> str:
    texts = [item.text for item in items]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def _period_start(key: str) -> date | None:
    """The first day of a period key: an ISO week ("2026-W40") or a day ("2026-10-05")."""
    try:
        if "-W" in key:
            year, week = key.split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        return date.fromisoformat(key)
    except ValueError:
        return None
