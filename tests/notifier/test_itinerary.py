"""Ranking the itinerary: gap share x |r| picks the next step."""

from __future__ import annotations

import pytest

from services.notifier.itinerary import (
    Direction,
    ItineraryItem,
    gap_share,
    next_step,
    step_score,
)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        # increase: (target - actual) / target
        (ItineraryItem("contacts", target=125, actual=100, effect=0.8), 25 / 125),
        (ItineraryItem("campaigns", target=20, actual=0, effect=0.8), 1.0),
        (ItineraryItem("campaigns", target=20, actual=20, effect=0.8), 0.0),
        (ItineraryItem("campaigns", target=20, actual=26, effect=0.8), 0.0),
        # decrease: (actual - target) / actual
        (ItineraryItem("bounces", 10, 40, -0.3, Direction.DECREASE), 30 / 40),
        (ItineraryItem("excel logins", 0, 30, 0.5, Direction.DECREASE), 1.0),
        (ItineraryItem("excel logins", 0, 0, 0.5, Direction.DECREASE), 0.0),
        (ItineraryItem("bounces", 10, 8, -0.3, Direction.DECREASE), 0.0),
    ],
)
def test_gap_share_is_the_share_of_the_way_still_to_go(
    item: ItineraryItem, expected: float
) -> None:
    assert gap_share(item) == pytest.approx(expected)


def test_score_counts_only_an_effect_in_the_intended_direction() -> None:
    intended = ItineraryItem("a", target=10, actual=5, effect=0.6)
    against = ItineraryItem("a", target=10, actual=5, effect=-0.6)
    assert step_score(intended) == pytest.approx(0.3)  # 5/10 x 0.6
    assert step_score(against) == 0


def test_next_step_is_neither_the_largest_gap_nor_the_strongest_r_alone() -> None:
    itinerary = [
        # largest gap (1.0) but weak r: 1.0 x 0.1 = 0.10
        ItineraryItem("stop legacy excel", 0, 30, 0.1, Direction.DECREASE),
        # strongest r but small gap: (125 - 100) / 125 = 0.2; 0.2 x 0.9 = 0.18
        ItineraryItem("new contacts per week", 125, 100, 0.9),
        # (20 - 12) / 20 = 0.4; 0.4 x 0.5 = 0.20
        ItineraryItem("social campaigns per month", 20, 12, 0.5),
        # (40 - 10) / 40 = 0.75; 0.75 x 0.3 = 0.225  <- best (fewer bounces help)
        ItineraryItem("bounced emails", 10, 40, 0.3, Direction.DECREASE),
        # target met: 0
        ItineraryItem("logins", 5, 6, 0.95),
    ]
    chosen = next_step(itinerary)
    assert chosen is not None
    assert chosen.activity == "bounced emails"


def test_ties_go_to_the_activity_name_first_in_order() -> None:
    itinerary = [ItineraryItem("b", 10, 5, 0.5), ItineraryItem("a", 10, 5, 0.5)]
    chosen = next_step(itinerary)
    assert chosen is not None and chosen.activity == "a"


def test_no_next_step_when_every_target_is_met_or_uncorrelated() -> None:
    assert next_step([]) is None
    assert next_step([ItineraryItem("a", 10, 12, 0.9), ItineraryItem("b", 10, 5, 0.0)]) is None
