"""Endpoint event-type filters."""

from __future__ import annotations

import re

import pytest

from services.notifier.errors import InvalidEventFilter
from services.notifier.filters import matches, validate_filters


@pytest.mark.parametrize(
    ("event_type", "filters", "expected"),
    [
        ("recommendation.created", [], True),
        ("signal.raised", [], True),
        ("recommendation.created", ["recommendation.created"], True),
        ("signal.raised", ["recommendation.created"], False),
        ("signal.raised", ["signal.*"], True),
        ("signal.resolved", ["signal.*"], True),
        ("health.changed", ["signal.*"], False),
        ("health.changed", ["signal.*", "health.changed"], True),
        # "signal.*" is a group prefix with its dot: it does not match "signals.raised".
        ("signals.raised", ["signal.*"], False),
        ("signal.raised", ["signal.raise"], False),
    ],
)
def test_endpoint_receives_only_matching_event_types(
    event_type: str, filters: list[str], expected: bool
) -> None:
    assert matches(event_type, filters) is expected


def test_known_filters_are_kept_once_in_order() -> None:
    assert validate_filters(["signal.*", "recommendation.created", "signal.*"]) == (
        "signal.*",
        "recommendation.created",
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("recommendation.creatd", "matches none of"),
        ("billing.*", "matches none of"),
        ("*", "only after a group name"),
        ("signal*", "only after a group name"),
        ("*.raised", "only after a group name"),
        ("signal.*.x", "only after a group name"),
    ],
)
def test_filters_matching_nothing_are_refused(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidEventFilter, match=re.escape(reason)) as refusal:
        validate_filters([pattern])
    assert refusal.value.pattern == pattern
