"""Recommendations quote the account's value from its digests (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from services.notifier.recommendations import recommend
from services.notifier.value import quote_value
from shared.digests import Cadence, DigestEquivalent, ValueDigest
from shared.signals import SignalChange, SignalChangeType, SignalType

AT = datetime(2026, 12, 2, 9, tzinfo=UTC)


def _equivalent(
    entry_id: str, kind: Literal["action", "feel_good"], text: str, value: float
) -> DigestEquivalent:
    return DigestEquivalent(
        id=entry_id,
        kind=kind,
        metric="transactions_processed",
        label=entry_id.replace("_", " "),
        text=text,
        amount=text.split()[1],
        value=value,
        unit="hour",
        source_title="Tenant's own measurement",
        source_edition="per tenant",
    )


def _digest(monday: date, hours: float) -> ValueDigest:
    period = f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}"
    return ValueDigest(
        id=ValueDigest.digest_id("tn", "acme", period),
        tenant_id="tn",
        account_id="acme",
        cadence=Cadence.WEEKLY,
        period=period,
        period_start=monday,
        period_end=monday + timedelta(days=6),
        action=(_equivalent("work_time_saved", "action", f"about {hours:g} h of work", hours),),
        feel_good=(),
        to_date=(
            _equivalent("labour_cost_avoided", "feel_good", "about 52,300 USD saved", 52300),
            _equivalent("work_time_saved", "feel_good", "about 900 h of work", 900),
        ),
        since=date(2026, 6, 1),
        occurred_at=AT,
    )


# Newest first, as the notifier reads them.
DIGESTS = [
    _digest(date(2026, 11, 23), 8),
    _digest(date(2026, 11, 16), 9),
    _digest(date(2026, 11, 9), 40),
]


def _change(signal_type: SignalType, evidence: dict[str, Any]) -> SignalChange:
    return SignalChange(
        id="chg-1",
        type=SignalChangeType.RAISED,
        tenant_id="tn",
        account_id="acme",
        signal_id="sig-1",
        signal_type=signal_type,
        subject="acme",
        evidence=evidence,
        occurred_at=AT,
    )


def test_an_achieved_objective_quotes_the_value_delivered_to_date() -> None:
    quote = quote_value(SignalType.OBJECTIVE_ACHIEVED, {}, DIGESTS)
    assert quote is not None
    assert quote.sentence == (
        "Value delivered since 01 Jun 2026: about 52,300 USD saved and about 900 h of work."
    )
    change = _change(SignalType.OBJECTIVE_ACHIEVED, {"metric": "conversion"})
    recommendation = recommend(change, ampm_base_url="http://ampm.test", value=quote)
    assert recommendation is not None
    assert recommendation.message.endswith(quote.sentence)
    assert recommendation.evidence["value"]["digest_id"] == DIGESTS[0].id
    assert recommendation.evidence["metric"] == "conversion"  # the signal's evidence stays


def test_an_adoption_drop_quotes_the_pace_before_the_drop() -> None:
    # The drop started in 2026-W47: the pace is the week before it, not the dropped weeks.
    quote = quote_value(SignalType.ADOPTION_DROP, {"drop_started": "2026-W47"}, DIGESTS)
    assert quote is not None
    assert quote.period == "2026-W46"
    assert "about 40 h of work a week (2026-W46)" in quote.sentence


def test_no_digest_no_figure_and_the_advice_still_goes_out() -> None:
    assert quote_value(SignalType.OBJECTIVE_ACHIEVED, {}, []) is None
    # Every digest is inside the drop: nothing tells the pace before it.
    assert quote_value(SignalType.ADOPTION_DROP, {"drop_started": "2026-W40"}, DIGESTS) is None
    assert quote_value(SignalType.SPONSOR_DEPARTURE, {}, DIGESTS) is None
    change = _change(SignalType.ADOPTION_DROP, {"drop_started": "2026-W40"})
    recommendation = recommend(change, ampm_base_url="http://ampm.test", value=None)
    assert recommendation is not None and "value" not in recommendation.evidence
