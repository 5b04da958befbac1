"""Rounding a person would use: 3 significant figures, thousands separators, h + min."""

from __future__ import annotations

import pytest

from services.equivalents.presentation import (
    describe,
    format_duration,
    format_number,
    round_significant,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1804.0712, 1800.0),
        (0.36046, 0.36),
        (0.3605, 0.361),  # half-up on the decimal digits, not the binary float
        (57177.42, 57200.0),
        (-1234.5, -1230.0),
        (0.0, 0.0),
    ],
)
def test_round_significant_keeps_three_figures(value: float, expected: float) -> None:
    assert round_significant(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1804.0712, "1,800"),
        (57177.42, "57,200"),
        (1_234_567.0, "1,230,000"),
        (999.6, "1,000"),
        (79.779, "79.8"),
        (0.709, "0.709"),
        (1.5, "1.5"),
        (12.0, "12"),
        (0.000124, "0.000124"),
        (0.0, "0"),
    ],
)
def test_format_number_uses_separators_and_drops_trailing_zeros(
    value: float, expected: str
) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (75.0, "1 h 15 min"),
        (42.0, "42 min"),
        (120.0, "2 h"),
        (59.6, "1 h"),  # rounds to 60 min first
        (79.734, "1 h 20 min"),
        (0.25, "15 s"),
        (599.6, "10 h"),
        (37_200.0, "620 h"),
        (124_000.0, "2,070 h"),  # 2066.7 h
    ],
)
def test_format_duration_reads_like_a_label(minutes: float, expected: str) -> None:
    assert format_duration(minutes) == expected


def test_describe_uses_the_label_or_the_template_with_parameters() -> None:
    assert describe("1,800", "miles not driven", None, {}) == "about 1,800 miles not driven"
    sentence = describe("0.36", "FTE-years", "{amount} FTE-years at {hours} h", {"hours": 1720.0})
    assert sentence == "about 0.36 FTE-years at 1,720 h"
