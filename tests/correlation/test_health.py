from datetime import UTC, date, datetime

import pytest

from services.correlation.buckets import PeriodUnit, period_range, shift_period
from services.correlation.health import (
    HealthInputs,
    HealthWeights,
    adoption_trend_component,
    itinerary_adherence_component,
    objective_progress_component,
    open_risks_component,
    score_health,
    stakeholder_coverage_component,
)
from services.correlation.plans import (
    ActivityCategory,
    ActivityDirection,
    ActivityTarget,
    Direction,
    Objective,
    Stakeholder,
    StakeholderRole,
    StakeholderStatus,
    SuccessPlan,
)
from services.correlation.series import Series
from shared.signals import SignalType


def _weekly(metric: str, values: list[float | None]) -> Series:
    keys = period_range("2024-W01", shift_period("2024-W01", len(values) - 1))
    return Series(metric, PeriodUnit.WEEK, keys, tuple(values))


def test_score_is_the_weighted_sum_of_components() -> None:
    inputs = HealthInputs(
        adoption_trend=0.8,
        itinerary_adherence=0.5,
        objective_progress=0.4,
        open_risks=0.75,
        stakeholder_coverage=2 / 3,
    )
    health = score_health(inputs)
    # 100 * (0.25*0.8 + 0.25*0.5 + 0.20*0.4 + 0.15*0.75 + 0.15*2/3)
    #   = 20 + 12.5 + 8 + 11.25 + 10 = 61.75
    assert health.score == pytest.approx(61.75)
    contributions = {c.name: c.contribution for c in health.components}
    assert contributions == pytest.approx(
        {
            "adoption_trend": 20,
            "itinerary_adherence": 12.5,
            "objective_progress": 8,
            "open_risks": 11.25,
            "stakeholder_coverage": 10,
        }
    )
    assert [c.weight for c in health.components] == [0.25, 0.25, 0.20, 0.15, 0.15]


def test_unknown_components_are_left_out_and_weights_rescaled() -> None:
    inputs = HealthInputs(None, None, None, open_risks=1.0, stakeholder_coverage=1 / 3)
    health = score_health(inputs)
    # known weight 0.15 + 0.15 = 0.3; 100 * (0.15*1 + 0.15/3) / 0.3 = 100 * 0.2 / 0.3
    assert health.score == pytest.approx(200 / 3)
    assert [c.contribution for c in health.components][:3] == [0.0, 0.0, 0.0]
    assert health.components[0].score is None


def test_custom_weights_change_the_score() -> None:
    inputs = HealthInputs(1.0, 0.0, 0.0, 0.0, 0.0)
    weights = HealthWeights(
        adoption_trend=1,
        itinerary_adherence=1,
        objective_progress=0,
        open_risks=0,
        stakeholder_coverage=0,
    )
    assert score_health(inputs, weights).score == pytest.approx(50)  # 100 * 1 / (1 + 1)
    with pytest.raises(ValueError):
        score_health(HealthInputs(None, None, None, 1.0, 1.0), weights)


def test_adoption_trend_compares_the_last_window_to_the_one_before() -> None:
    # (8 * 4) / (10 * 4) = 0.8
    assert adoption_trend_component(_weekly("u", [10, 10, 10, 10, 8, 8, 8, 8])) == pytest.approx(
        0.8
    )
    assert adoption_trend_component(_weekly("u", [5, 5, 5, 5, 8, 8, 8, 8])) == 1.0  # capped
    assert adoption_trend_component(_weekly("u", [0, 0, 0, 0, 1, 0, 0, 0])) == 1.0
    assert adoption_trend_component(_weekly("u", [0] * 8)) == 0.0
    assert adoption_trend_component(_weekly("u", [10] * 7)) is None
    assert adoption_trend_component(_weekly("u", [10, None, 10, 10, 8, 8, 8, 8])) is None
    # window 2: (3 + 3) / (4 + 8) = 0.5
    assert adoption_trend_component(_weekly("u", [4, 8, 3, 3]), window=2) == pytest.approx(0.5)


def _plan() -> SuccessPlan:
    return SuccessPlan(
        id="p",
        account_id="acme",
        objectives=(
            Objective(
                metric="conversion",
                baseline=2.2,
                target=3.2,
                direction=Direction.UP,
                deadline=date(2024, 12, 31),
            ),
            Objective(
                metric="bounces",
                baseline=10,
                target=6,
                direction=Direction.DOWN,
                deadline=date(2024, 12, 31),
            ),
            Objective(
                metric="nps",
                baseline=10,
                target=40,
                direction=Direction.UP,
                deadline=date(2024, 12, 31),
            ),
        ),
        itinerary=(
            ActivityTarget(
                metric="contacts",
                category=ActivityCategory.PROCESS,
                target_per_period=25,
                direction=ActivityDirection.INCREASE,
            ),
            ActivityTarget(
                metric="cold_calls",
                category=ActivityCategory.BEHAVIOUR,
                target_per_period=0,
                direction=ActivityDirection.STOP,
            ),
            ActivityTarget(
                metric="excel_opens",
                category=ActivityCategory.TOOL,
                target_per_period=0,
                direction=ActivityDirection.STOP,
            ),
        ),
    )


def test_itinerary_adherence_is_the_share_of_periods_on_target() -> None:
    series = {
        # last 4: 30 yes, 20 no, 25 yes, 10 no -> 2 of 4 (the 5 before the window is ignored)
        "contacts": _weekly("contacts", [5, 30, 20, 25, 10]),
        # 0 yes, 0 yes, 1 no, unknown -> 2 of 3
        "cold_calls": _weekly("cold_calls", [0, 0, 1, None]),
        # excel_opens has no series yet
    }
    assert itinerary_adherence_component(_plan(), series) == pytest.approx(4 / 7)
    assert itinerary_adherence_component(_plan(), {}) is None


def test_objective_progress_is_the_mean_clipped_progress() -> None:
    # conversion (2.7 - 2.2) / 1.0 = 0.5; bounces (12 - 10) / (6 - 10) = -0.5 -> 0; nps unknown
    progress = objective_progress_component(_plan(), {"conversion": 2.7, "bounces": 12})
    assert progress == pytest.approx(0.25)
    assert objective_progress_component(_plan(), {"conversion": 5.0}) == 1.0
    assert objective_progress_component(_plan(), {}) is None


def test_open_risks_lower_the_component_and_achievements_do_not() -> None:
    open_signals = [
        SignalType.ADOPTION_DROP,
        SignalType.BLOCKER_REPORTED,
        SignalType.OBJECTIVE_ACHIEVED,
    ]
    assert open_risks_component(open_signals) == pytest.approx(0.5)  # 1 - 2/4
    assert open_risks_component([]) == 1.0
    assert open_risks_component([SignalType.ADOPTION_DROP] * 5) == 0.0


def test_stakeholder_coverage_counts_active_sponsor_owner_and_supervisor() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    people = [
        Stakeholder("ann", StakeholderRole.SPONSOR, StakeholderStatus.ACTIVE, at),
        Stakeholder("bob", StakeholderRole.ADOPTION_OWNER, StakeholderStatus.DEPARTED, at),
        Stakeholder("cid", StakeholderRole.SUPERVISOR, StakeholderStatus.ACTIVE, at),
        Stakeholder("dee", StakeholderRole.USER, StakeholderStatus.ACTIVE, at),
    ]
    assert stakeholder_coverage_component(people) == pytest.approx(2 / 3)
    assert stakeholder_coverage_component([]) == 0.0
