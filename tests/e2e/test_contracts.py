"""What correlation decides is what the notifier can explain (pure, across two services).

Each service has its own unit tests; these feed the notifier the evidence correlation's rules
really produce, so a renamed evidence key cannot leave a CSM reading "target unknown".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.correlation.buckets import PeriodUnit, period_key, shift_period
from services.correlation.off_track import activity_off_track
from services.correlation.plans import (
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
)
from services.correlation.risk import Raise, sponsor_departure
from services.correlation.series import Series
from services.notifier.recommendations import recommend
from shared.signals import SIGNAL_CATEGORY, SignalChange, SignalChangeType, SignalState

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _raised(decision: Raise) -> SignalChange:
    return SignalChange(
        id="chg-1",
        type=SignalChangeType.RAISED,
        tenant_id="tn_a",
        account_id="northwind",
        signal_id="sig-1",
        signal_type=decision.signal_type,
        category=SIGNAL_CATEGORY[decision.signal_type],
        subject=decision.subject,
        state=SignalState.OPEN,
        evidence=dict(decision.evidence),
        occurred_at=NOW,
    )


def test_an_off_track_activity_is_explained_with_its_target_and_actual() -> None:
    activity = ActivityTarget(
        metric="new_contacts_identified",
        category=ActivityCategory.PROCESS,
        target_per_period=50,
        direction=ActivityDirection.INCREASE,
    )
    last = period_key(NOW - timedelta(weeks=1), PeriodUnit.WEEK)
    keys = tuple(shift_period(last, step, PeriodUnit.WEEK) for step in range(-6, 1))
    values = (52.0, 49.0, 51.0, 50.0, 31.0, 29.0, 28.0)
    series = Series("new_contacts_identified", PeriodUnit.WEEK, keys, values)
    decision = activity_off_track(activity, series, is_open=False)
    assert isinstance(decision, Raise)

    recommendation = recommend(_raised(decision), ampm_base_url="http://ampm.test")
    assert recommendation is not None
    text = " ".join([recommendation.title, recommendation.message, *recommendation.actions])
    assert "new_contacts_identified" in text
    assert "50" in text and "28" in text
    assert "unknown" not in text


def test_a_sponsor_departure_asks_for_a_formal_handover() -> None:
    departed = Stakeholder("p-ceo", StakeholderRole.SPONSOR, StakeholderStatus.DEPARTED, NOW)
    decision = sponsor_departure("northwind", [departed], is_open=False)
    assert isinstance(decision, Raise)
    recommendation = recommend(_raised(decision), ampm_base_url="http://ampm.test")
    assert recommendation is not None
    assert "successor" in recommendation.message.lower() + " ".join(recommendation.actions)
    assert any(link.endswith("/northwind/ampm") for link in recommendation.links.values())
