"""Event-type filters of webhook endpoints: which messages an endpoint receives.

A filter is an exact event type (``recommendation.created``) or a group wildcard (``signal.*``,
any type starting ``signal.``). An endpoint with no filters receives every event type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from services.notifier.errors import InvalidEventFilter
from shared.digests import VALUE_DIGEST
from shared.signals import SignalChangeType

WILDCARD = "*"


class WebhookEventType(StrEnum):
    """Event types the notifier delivers; signal changes keep their signals-topic names."""

    RECOMMENDATION_CREATED = "recommendation.created"
    SIGNAL_RAISED = SignalChangeType.RAISED.value
    SIGNAL_RESOLVED = SignalChangeType.RESOLVED.value
    HEALTH_CHANGED = SignalChangeType.HEALTH_CHANGED.value
    ENDPOINT_DISABLED = "endpoint.disabled"
    VALUE_DIGEST = VALUE_DIGEST


def matches(event_type: str, filters: Sequence[str]) -> bool:
    """Whether an endpoint with ``filters`` receives ``event_type`` (no filters: everything)."""
    if not filters:
        return True
    return any(_pattern_matches(pattern, event_type) for pattern in filters)


def validate_filters(
    filters: Iterable[str], known: Iterable[str] = tuple(WebhookEventType)
) -> tuple[str, ...]:
    """The filters, deduplicated in order; raises ``InvalidEventFilter`` for one matching nothing.

    A filter that matches no known type is almost always a typo that would silently starve the
    endpoint, so it is refused when the endpoint is saved rather than ignored at delivery.
    """
    known_types = tuple(known)
    accepted: list[str] = []
    for pattern in filters:
        if WILDCARD in pattern and not _is_group_wildcard(pattern):
            raise InvalidEventFilter(
                pattern,
                "may use '*' only after a group name, as in 'signal.*' "
                "(no filters at all means every event type)",
            )
        if not any(_pattern_matches(pattern, event_type) for event_type in known_types):
            raise InvalidEventFilter(pattern, f"matches none of {', '.join(known_types)}")
        if pattern not in accepted:
            accepted.append(pattern)
    return tuple(accepted)


def _pattern_matches(pattern: str, event_type: str) -> bool:
    if _is_group_wildcard(pattern):
        return event_type.startswith(pattern.removesuffix(WILDCARD))
    return pattern == event_type


def _is_group_wildcard(pattern: str) -> bool:
    # "signal.*" names a group; a bare "*" is refused: an empty filter list already means "all".
    group = pattern.removesuffix("." + WILDCARD)
    return pattern.endswith("." + WILDCARD) and bool(group) and WILDCARD not in group
