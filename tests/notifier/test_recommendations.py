"""One recommendation rule per signal change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notifier.errors import IncompleteSignalChange
from services.notifier.itinerary import Direction, ItineraryItem
from services.notifier.recommendations import Recommendation, ampm_link, recommend
from services.notifier.wording import Priority
from shared.signals import GpsCategory, SignalChange, SignalChangeType, SignalType

BASE = "https://ampm.example.com"
AT = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)


def _change(
    change_type: SignalChangeType = SignalChangeType.RAISED,
    signal_type: SignalType | None = None,
    subject: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> SignalChange:
    return SignalChange(
        id="chg-1",
        type=change_type,
        tenant_id="vendor",
        account_id="acme",
        signal_id="sig-1" if signal_type else None,
        signal_type=signal_type,
        subject=subject,
        evidence=evidence or {},
        occurred_at=AT,
    )


def _raised(signal_type: SignalType, **kwargs: Any) -> Recommendation:
    result = recommend(_change(SignalChangeType.RAISED, signal_type, **kwargs), ampm_base_url=BASE)
    assert result is not None
    return result


# The GPS reading and urgency of each raised signal, per the design brief's table.
EXPECTED = {
    SignalType.SPONSOR_DEPARTURE: (GpsCategory.BAD_WEATHER, Priority.HIGH),
    SignalType.REORGANIZATION: (GpsCategory.BAD_WEATHER, Priority.MEDIUM),
    SignalType.NO_ADOPTION_OWNER: (GpsCategory.ROADBLOCK, Priority.HIGH),
    SignalType.ADOPTION_DROP: (GpsCategory.ACCIDENT_AHEAD, Priority.HIGH),
    SignalType.ACTIVITY_OFF_TRACK: (GpsCategory.REROUTE, Priority.MEDIUM),
    SignalType.OBJECTIVE_AT_RISK: (GpsCategory.ACCIDENT_AHEAD, Priority.HIGH),
    SignalType.BLOCKER_REPORTED: (GpsCategory.ROADBLOCK, Priority.HIGH),
    SignalType.OBJECTIVE_ACHIEVED: (GpsCategory.ARRIVED, Priority.MEDIUM),
}


@pytest.mark.parametrize("signal_type", list(SignalType))
def test_each_raised_signal_has_its_category_and_priority(signal_type: SignalType) -> None:
    recommendation = _raised(signal_type)
    assert (recommendation.category, recommendation.priority) == EXPECTED[signal_type]
    assert recommendation.actions
    assert recommendation.signal_type is signal_type


def test_every_signal_type_has_its_own_advice() -> None:
    titles = {_raised(signal_type).title for signal_type in SignalType}
    messages = {_raised(signal_type).message for signal_type in SignalType}
    assert len(titles) == len(messages) == len(SignalType)


def test_sponsor_departure_names_the_person_and_hands_over_to_a_successor() -> None:
    # The subject of a sponsor departure is the account: the text names the person instead.
    evidence = {"departed_sponsors": [{"person_id": "p-9", "name": "Jane Doe", "title": "CFO"}]}
    recommendation = _raised(
        SignalType.SPONSOR_DEPARTURE, subject="northwind-leads", evidence=evidence
    )
    assert "formally hand the sponsor's responsibilities to a successor" in recommendation.actions
    assert "brief the successor on the success plan" in recommendation.actions
    assert "The executive sponsor (Jane Doe, CFO) is leaving" in recommendation.message
    assert "northwind-leads" not in recommendation.title + recommendation.message
    unnamed = {"departed_sponsors": [{"person_id": "p-9", "name": None, "title": None}]}
    by_id = _raised(SignalType.SPONSOR_DEPARTURE, subject="northwind-leads", evidence=unnamed)
    assert "The executive sponsor (p-9) is leaving" in by_id.message


def test_missing_adoption_owner_asks_the_customer_to_name_one() -> None:
    recommendation = _raised(SignalType.NO_ADOPTION_OWNER)
    assert recommendation.actions[0] == "ask the customer to name an adoption owner"
    assert "Ask the customer to name an adoption owner." in recommendation.message


def test_off_track_activity_quotes_its_target_and_actual() -> None:
    evidence = {"activity": "social campaigns per month", "target": 20, "actual": 12.5}
    recommendation = _raised(SignalType.ACTIVITY_OFF_TRACK, evidence=evidence)

    assert recommendation.title == "Off track: social campaigns per month"
    assert "'social campaigns per month' is off track: target 20, actual 12.5" in (
        recommendation.message
    )
    assert recommendation.actions[0] == (
        "review 'social campaigns per month' with the adoption owner: target 20, actual 12.5"
    )
    assert recommendation.evidence == evidence


def test_off_track_numbers_are_readable_and_carry_their_unit() -> None:
    evidence = {"activity": "pipeline", "target": 1234.5, "actual": 0.032449, "unit": "kEUR"}
    recommendation = _raised(SignalType.ACTIVITY_OFF_TRACK, evidence=evidence)
    # 1234.5 -> "1,234.5"; 0.032449 to 3 significant digits -> "0.0324"
    assert "target 1,234.5 kEUR, actual 0.0324 kEUR" in recommendation.message


def test_off_track_falls_back_to_the_subject_and_says_what_is_unknown() -> None:
    recommendation = _raised(SignalType.ACTIVITY_OFF_TRACK, subject="cold calls")
    assert recommendation.title == "Off track: cold calls"
    assert "target unknown, actual unknown" in recommendation.message


def test_objective_achieved_celebrates_and_shares_equivalents() -> None:
    recommendation = _raised(SignalType.OBJECTIVE_ACHIEVED, subject="lead conversion 3.2%")
    assert "celebrate with the customer" in recommendation.actions
    assert "share the equivalents of the value delivered" in recommendation.actions
    assert "lead conversion 3.2%" in recommendation.message


def test_reorganization_checks_the_plan_still_has_its_people() -> None:
    recommendation = _raised(SignalType.REORGANIZATION)
    assert recommendation.title == "Reorganisation at the customer"
    assert "confirm the sponsor and the adoption owner are still in place" in (
        recommendation.actions
    )


def test_adoption_drop_looks_for_who_stopped() -> None:
    recommendation = _raised(SignalType.ADOPTION_DROP, subject="weekly active users")
    assert recommendation.title == "Adoption dropping"
    assert "Usage (weekly active users) is falling" in recommendation.message
    assert "find which teams or users stopped using the product" in recommendation.actions


def test_objective_at_risk_reviews_the_itinerary() -> None:
    recommendation = _raised(SignalType.OBJECTIVE_AT_RISK, subject="lead conversion 3.2%")
    assert recommendation.title == "Objective at risk"
    assert "(lead conversion 3.2%) is projected to miss its target" in recommendation.message


def test_blocker_quotes_what_the_customer_reported() -> None:
    recommendation = _raised(SignalType.BLOCKER_REPORTED, subject="SSO login fails")
    assert recommendation.title == "Roadblock reported"
    assert "reported a blocker: SSO login fails." in recommendation.message
    assert "agree on a workaround and who owns it" in recommendation.actions


def test_braces_in_a_subject_are_kept_literally() -> None:
    recommendation = _raised(SignalType.BLOCKER_REPORTED, subject="error {target} in export")
    assert "error {target} in export" in recommendation.message


def test_resolved_signal_gives_a_short_low_priority_cleared_note() -> None:
    change = _change(
        SignalChangeType.RESOLVED,
        SignalType.ACTIVITY_OFF_TRACK,
        subject="social_campaigns",
        evidence={"title": "Social campaigns per month"},
    )
    recommendation = recommend(change, ampm_base_url=BASE)

    assert recommendation is not None
    assert recommendation.category is GpsCategory.NEXT_STEP
    assert recommendation.priority is Priority.LOW
    # Says what cleared.
    assert recommendation.title == "Cleared: activity off track (Social campaigns per month)"
    assert recommendation.message == (
        "The activity off track signal (Social campaigns per month) has cleared. Keep following "
        "the itinerary."
    )


def test_a_cleared_sponsor_departure_names_the_successor() -> None:
    evidence = {"sponsors": [{"person_id": "p-2", "name": "Ann Lee", "title": "CFO"}]}
    change = _change(
        SignalChangeType.RESOLVED,
        SignalType.SPONSOR_DEPARTURE,
        subject="northwind-leads",
        evidence=evidence,
    )
    recommendation = recommend(change, ampm_base_url=BASE)
    assert recommendation is not None
    assert recommendation.title == "Cleared: sponsor departure"
    assert "Ann Lee, CFO now holds the role." in recommendation.message
    assert "northwind-leads" not in recommendation.title + recommendation.message


def test_texts_use_the_plan_s_titles_and_never_an_internal_metric_name() -> None:
    usage = _change(SignalChangeType.RAISED, SignalType.ADOPTION_DROP, subject="$usage")
    drop = recommend(usage, ampm_base_url=BASE)
    assert drop is not None and "$usage" not in drop.title + drop.message
    arrived = _change(
        SignalChangeType.RAISED,
        SignalType.OBJECTIVE_ACHIEVED,
        subject="energy_generated",
        evidence={"metric": "energy_generated", "title": "Weekly generation at 700 kWh"},
    )
    achieved = recommend(arrived, ampm_base_url=BASE)
    assert achieved is not None and "(Weekly generation at 700 kWh)" in achieved.message
    assert "energy_generated" not in achieved.message
    cleared = recommend(
        _change(SignalChangeType.RESOLVED, SignalType.ADOPTION_DROP, subject="$usage"),
        ampm_base_url=BASE,
    )
    assert cleared is not None and cleared.title == "Cleared: adoption drop"


ITINERARY = [
    # (125 - 100) / 125 = 0.2; x 0.9 = 0.18
    ItineraryItem("new contacts per week", 125, 100, 0.9),
    # (40 - 10) / 40 = 0.75; x 0.3 = 0.225  <- next step (fewer bounces help)
    ItineraryItem("bounced emails", 10, 40, 0.3, Direction.DECREASE),
]


def test_healthy_account_gets_the_next_itinerary_step() -> None:
    change = _change(SignalChangeType.HEALTH_CHANGED)
    recommendation = recommend(change, ampm_base_url=BASE, itinerary=ITINERARY)

    assert recommendation is not None
    assert recommendation.category is GpsCategory.NEXT_STEP
    assert recommendation.priority is Priority.LOW
    assert recommendation.title == "Next step: bounced emails"
    assert "at 40 against a target of 10 (75% of the way still to go)" in recommendation.message
    assert "(pre-whitened r = 0.30)" in recommendation.message
    assert recommendation.actions[0] == "bring down 'bounced emails' from 40 toward 10"
    assert recommendation.evidence["gap_share"] == pytest.approx(0.75)
    assert recommendation.evidence["score"] == pytest.approx(0.225)


def test_open_risk_suppresses_the_next_step() -> None:
    change = _change(SignalChangeType.HEALTH_CHANGED)
    result = recommend(
        change,
        ampm_base_url=BASE,
        itinerary=ITINERARY,
        open_signals=[SignalType.ADOPTION_DROP],
    )
    assert result is None


def test_an_achieved_objective_is_not_an_open_risk() -> None:
    change = _change(SignalChangeType.HEALTH_CHANGED)
    result = recommend(
        change,
        ampm_base_url=BASE,
        itinerary=ITINERARY,
        open_signals=[SignalType.OBJECTIVE_ACHIEVED],
    )
    assert result is not None and result.title == "Next step: bounced emails"


def test_no_next_step_when_every_activity_is_on_target() -> None:
    change = _change(SignalChangeType.HEALTH_CHANGED)
    on_target = [ItineraryItem("logins", 5, 6, 0.9)]
    assert recommend(change, ampm_base_url=BASE, itinerary=on_target) is None


def test_signal_change_without_signal_type_is_incomplete() -> None:
    with pytest.raises(IncompleteSignalChange):
        recommend(_change(SignalChangeType.RAISED, None), ampm_base_url=BASE)


def test_links_point_to_the_accounts_ampm_view() -> None:
    recommendation = _raised(SignalType.NO_ADOPTION_OWNER)
    assert recommendation.links == {"ampm": "https://ampm.example.com/v1/accounts/acme/ampm"}


def test_link_escapes_the_account_id_and_tolerates_a_trailing_slash() -> None:
    # " " -> %20 and "/" -> %2F so the id stays one path segment.
    assert ampm_link("https://ampm.example.com/", "acme corp/1") == (
        "https://ampm.example.com/v1/accounts/acme%20corp%2F1/ampm"
    )


def test_recommendation_carries_its_origin_and_serialises_to_json() -> None:
    recommendation = _raised(SignalType.BLOCKER_REPORTED, evidence={"ticket": "T-1"})
    data = json.loads(json.dumps(recommendation.model_dump(mode="json")))

    assert data["tenant_id"] == "vendor"
    assert data["account_id"] == "acme"
    assert data["signal_change_id"] == "chg-1"
    assert data["category"] == "roadblock"
    assert data["priority"] == "high"
    assert data["evidence"] == {"ticket": "T-1"}
    assert data["occurred_at"] == "2024-06-01T09:30:00Z"


def test_health_change_reads_itinerary_and_open_signals_from_its_payload() -> None:
    from shared.signals import HealthPayload, ItineraryStatus

    itinerary = [
        ItineraryStatus(
            activity="social_campaigns",
            title="social campaigns",
            direction="increase",
            target=20,
            actual=5,
            verdict="moves_objective",
            objective="conversion_rate",
            lag=2,
            effect_r=0.8,
            q_value=0.01,
        ),
        ItineraryStatus(activity="no data yet", direction="increase", target=10),
        ItineraryStatus(
            activity="cold calls",
            direction="stop",
            target=0,
            actual=3,
            verdict="moves_objective",
            effect_r=0.1,
        ),
        # A large gap, but no evidence that it moves anything: never the next step.
        ItineraryStatus(
            activity="logins",
            direction="increase",
            target=100,
            actual=0,
            verdict="no_evidence",
            effect_r=0.9,
        ),
    ]
    calm = SignalChange(
        id="chg-h",
        type=SignalChangeType.HEALTH_CHANGED,
        tenant_id="vendor",
        account_id="acme",
        health=HealthPayload(score=70, itinerary=itinerary),
        occurred_at=AT,
    )
    advice = recommend(calm, ampm_base_url=BASE)
    assert advice is not None and advice.title == "Next step: social campaigns"
    assert "leading conversion_rate about 2 period(s) later" in advice.message
    assert "not proof of cause" in advice.message
    assert advice.evidence["verdict"] == "moves_objective"

    risky = calm.model_copy(
        update={
            "health": HealthPayload(
                score=40, itinerary=itinerary, open_signals=[SignalType.ADOPTION_DROP]
            )
        }
    )
    assert recommend(risky, ampm_base_url=BASE) is None
