"""Next-junction recommendations: what a CSM should do about one signal change.

One rule per signal type (worded in ``wording``) turns a raised signal into a GPS-style
recommendation (category, title, message, actions, priority) that quotes the signal's evidence;
a resolved signal becomes a short "cleared" note; a health change with no open risk becomes the
next itinerary step, the activity whose gap to target and link to performance are jointly the
largest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from services.notifier.errors import IncompleteSignalChange
from services.notifier.itinerary import Direction, ItineraryItem, gap_share, next_step, step_score
from services.notifier.value import ValueQuote
from services.notifier.wording import Advice, Priority, cleared, number, raised
from shared.signals import (
    SIGNAL_CATEGORY,
    GpsCategory,
    HealthPayload,
    SignalChange,
    SignalChangeType,
    SignalType,
)

# The lead/lag verdict that makes an activity a candidate for the next junction.
MOVES_OBJECTIVE = "moves_objective"

# Signals that mean something is wrong; an open one suppresses the "next step" advice.
RISK_SIGNALS = frozenset(SignalType) - {SignalType.OBJECTIVE_ACHIEVED}


class Recommendation(BaseModel):
    """What to do next on one account, ready to serialise as a webhook's ``data``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str
    account_id: str
    category: GpsCategory
    title: str
    message: str
    actions: tuple[str, ...]
    evidence: dict[str, Any]
    priority: Priority
    links: dict[str, str]
    signal_change_id: str
    signal_type: SignalType | None
    occurred_at: datetime


def recommend(
    change: SignalChange,
    *,
    ampm_base_url: str,
    itinerary: Sequence[ItineraryItem] | None = None,
    open_signals: Collection[SignalType] | None = None,
    value: ValueQuote | None = None,
) -> Recommendation | None:
    """The recommendation for ``change``, or None when there is nothing to advise.

    ``value`` is the account's value to quote for a raised signal (``value.quote_value``):
    its sentence ends the message and its figures join the evidence under ``value``.

    ``itinerary`` and ``open_signals`` matter only for ``health.changed``: the next step is
    advised only while no risk signal is open (an open risk already has its own advice). Left
    out, they are read from the change's ``HealthPayload``.
    """
    if change.type is SignalChangeType.HEALTH_CHANGED:
        if itinerary is None:
            itinerary = itinerary_from_health(change.health)
        if open_signals is None:
            open_signals = change.health.open_signals if change.health else ()
        if RISK_SIGNALS.intersection(open_signals):
            return None
        item = next_step(itinerary)
        if item is None:
            return None
        return _recommendation(
            change, GpsCategory.NEXT_STEP, _next_step(item), _evidence(item), base=ampm_base_url
        )
    if change.signal_type is None:
        raise IncompleteSignalChange(f"{change.type.value} {change.id!r} has no signal_type")
    if change.type is SignalChangeType.RESOLVED:
        advice = cleared(change.signal_type, change.subject, change.evidence)
        return _recommendation(
            change, GpsCategory.NEXT_STEP, advice, dict(change.evidence), base=ampm_base_url
        )
    advice = raised(change, change.signal_type)
    evidence = dict(change.evidence)
    if value is not None:
        advice = replace(advice, message=f"{advice.message} {value.sentence}")
        evidence["value"] = value.evidence()
    category = SIGNAL_CATEGORY[change.signal_type]
    return _recommendation(change, category, advice, evidence, base=ampm_base_url)


def itinerary_from_health(health: HealthPayload | None) -> list[ItineraryItem]:
    """The itinerary items of a health payload that can be ranked.

    Only activities whose lead/lag verdict is ``moves_objective`` and that have an actual value
    are ranked; a "stop doing X" activity is a decrease toward its target (usually 0).
    """
    if health is None:
        return []
    return [
        ItineraryItem(
            activity=status.activity,
            target=status.target,
            actual=status.actual,
            effect=status.effect_r,
            direction=Direction.INCREASE if status.direction == "increase" else Direction.DECREASE,
            objective=status.objective,
            lag=status.lag,
            title=status.title,
        )
        for status in health.itinerary
        if status.actual is not None
        and status.verdict == MOVES_OBJECTIVE
        and status.effect_r is not None
    ]


def ampm_link(base_url: str, account_id: str) -> str:
    """The account's AM/PM view: ``{base}/v1/accounts/{account_id}/ampm``."""
    return f"{base_url.rstrip('/')}/v1/accounts/{quote(account_id, safe='')}/ampm"


def _recommendation(
    change: SignalChange,
    category: GpsCategory,
    advice: Advice,
    evidence: dict[str, Any],
    *,
    base: str,
) -> Recommendation:
    return Recommendation(
        tenant_id=change.tenant_id,
        account_id=change.account_id,
        category=category,
        title=advice.title,
        message=advice.message,
        actions=advice.actions,
        evidence=evidence,
        priority=advice.priority,
        links={"ampm": ampm_link(base, change.account_id)},
        signal_change_id=change.id,
        signal_type=change.signal_type,
        occurred_at=change.occurred_at,
    )


def _evidence(item: ItineraryItem) -> dict[str, Any]:
    return {
        "activity": item.activity,
        "target": item.target,
        "actual": item.actual,
        "verdict": MOVES_OBJECTIVE,
        "objective": item.objective,
        "lag": item.lag,
        "effect_r": item.effect,
        "direction": item.direction.value,
        "gap_share": gap_share(item),
        "score": step_score(item),
    }


def _next_step(item: ItineraryItem) -> Advice:
    verb = "raise" if item.direction is Direction.INCREASE else "bring down"
    name = item.title or item.activity
    objective = item.objective or "the objective"
    when = "in the same period" if not item.lag else f"about {item.lag} period(s) later"
    return Advice(
        Priority.LOW,
        f"Next step: {name}",
        f"Nothing is wrong on this account. At the next junction, focus on {name!r}: "
        f"it is at {number(item.actual)} against a target of {number(item.target)} "
        f"({gap_share(item):.0%} of the way still to go). This account's history shows it "
        f"leading {objective} {when} (pre-whitened r = {item.effect:.2f}): evidence of a "
        "lead, not proof of cause.",
        (
            f"{verb} {name!r} from {number(item.actual)} toward {number(item.target)}",
            "share the progress with the adoption owner",
        ),
    )
