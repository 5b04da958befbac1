"""Next-junction recommendations: what a CSM should do about one signal change.

One rule per signal type turns a raised signal into a GPS-style recommendation (category, title,
message, actions, priority) that quotes the signal's evidence; a resolved signal becomes a short
"cleared" note; a health change with no open risk becomes the next itinerary step, the activity
whose gap to target and link to performance are jointly the largest.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from services.notifier.errors import IncompleteSignalChange
from services.notifier.itinerary import Direction, ItineraryItem, gap_share, next_step, step_score
from services.notifier.value import ValueQuote
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


class Priority(StrEnum):
    """How soon a CSM should act."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


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


@dataclass(frozen=True)
class _Advice:
    priority: Priority
    title: str
    message: str
    actions: tuple[str, ...]


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
        advice = _cleared(change.signal_type, change.subject, change.evidence)
        return _recommendation(
            change, GpsCategory.NEXT_STEP, advice, dict(change.evidence), base=ampm_base_url
        )
    advice = _raised(change, change.signal_type)
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
    advice: _Advice,
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


def _next_step(item: ItineraryItem) -> _Advice:
    verb = "raise" if item.direction is Direction.INCREASE else "bring down"
    name = item.title or item.activity
    objective = item.objective or "the objective"
    when = "in the same period" if not item.lag else f"about {item.lag} period(s) later"
    return _Advice(
        Priority.LOW,
        f"Next step: {name}",
        f"Nothing is wrong on this account. At the next junction, focus on {name!r}: "
        f"it is at {_number(item.actual)} against a target of {_number(item.target)} "
        f"({gap_share(item):.0%} of the way still to go). This account's history shows it "
        f"leading {objective} {when} (pre-whitened r = {item.effect:.2f}): evidence of a "
        "lead, not proof of cause.",
        (
            f"{verb} {name!r} from {_number(item.actual)} toward {_number(item.target)}",
            "share the progress with the adoption owner",
        ),
    )


def _cleared(signal_type: SignalType, subject: str | None, evidence: dict[str, Any]) -> _Advice:
    label = signal_type.value.replace("_", " ")
    about = _about(_readable_of(signal_type, subject, evidence))
    successor = _people(evidence.get("sponsors") or evidence.get("adoption_owners"))
    handed = f" {successor} now holds the role." if successor else ""
    return _Advice(
        Priority.LOW,
        f"Cleared: {label}{about}",
        f"The {label} signal{about} has cleared.{handed} Keep following the itinerary.",
        ("close any follow-up opened for this signal",),
    )


# Signals whose subject is the account itself: the webhook names the account, the text does not.
_ACCOUNT_SUBJECTS = frozenset({SignalType.SPONSOR_DEPARTURE, SignalType.REORGANIZATION})


def _readable_of(
    signal_type: SignalType, subject: str | None, evidence: dict[str, Any]
) -> str | None:
    """What the text calls a signal's subject: the people it is about, an activity's title,
    never the account's id nor an internal metric."""
    if signal_type is SignalType.SPONSOR_DEPARTURE:
        return _people(evidence.get("departed_sponsors"))
    if signal_type is SignalType.NO_ADOPTION_OWNER:
        return _people(evidence.get("departed_owners"))
    if signal_type is SignalType.REORGANIZATION:
        changes = evidence.get("role_changes_in_window")
        if evidence.get("cause") == "role_changes" and changes:
            return f"{changes} role changes within {evidence.get('window_days')} days"
        return None
    if signal_type in _ACCOUNT_SUBJECTS:
        return None
    return _readable(subject, evidence)


def _people(described: object) -> str | None:
    """``[{"person_id", "name", "title"}, ...]`` as "Dana Reyes, VP Sales and p-7"."""
    if not isinstance(described, list) or not described:
        return None
    names = []
    for person in described:
        if not isinstance(person, dict):
            continue
        name = person.get("name") or person.get("person_id")
        title = person.get("title")
        names.append(f"{name}, {title}" if name and title else str(name))
    if not names:
        return None
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# One rule per signal type. Templates may use {about} (" (subject)" or ""), {subject_colon}
# (": subject" or ""), and, from the evidence, {activity}, {target} and {actual}.
_RULES: dict[SignalType, _Advice] = {
    SignalType.SPONSOR_DEPARTURE: _Advice(
        Priority.HIGH,
        "Executive sponsor leaving",
        "The executive sponsor{about} is leaving or changing role, and adoption stalls without "
        "visible senior sponsorship. Formally hand the sponsor's responsibilities to a successor "
        "and brief them on the success plan.",
        (
            "formally hand the sponsor's responsibilities to a successor",
            "brief the successor on the success plan",
            "announce the new sponsor to the users and their supervisors",
        ),
    ),
    SignalType.REORGANIZATION: _Advice(
        Priority.MEDIUM,
        "Reorganisation at the customer",
        "The customer is reorganising{about}. Check that the success plan still has its sponsor, "
        "its adoption owner and the users' supervisors, and onboard the people new to the product.",
        (
            "confirm the sponsor and the adoption owner are still in place",
            "find the users and supervisors who changed teams",
            "plan onboarding for the newcomers",
        ),
    ),
    SignalType.NO_ADOPTION_OWNER: _Advice(
        Priority.HIGH,
        "No adoption owner",
        "Nobody at the customer owns adoption{about}, and adoption without an owner drifts. "
        "Ask the customer to name an adoption owner.",
        (
            "ask the customer to name an adoption owner",
            "agree on the owner's responsibilities and time",
            "walk the owner through the success plan",
        ),
    ),
    SignalType.ADOPTION_DROP: _Advice(
        Priority.HIGH,
        "Adoption dropping",
        "Usage{about} is falling. Find out who stopped using the product and why before the "
        "objective is affected.",
        (
            "find which teams or users stopped using the product",
            "ask the adoption owner and the supervisors what changed",
            "offer targeted training or a refresher",
        ),
    ),
    SignalType.ACTIVITY_OFF_TRACK: _Advice(
        Priority.MEDIUM,
        "Off track: {activity}",
        "The activity '{activity}' is off track: target {target}, actual {actual}. "
        "Reroute: find with the customer what holds it back and adjust the plan.",
        (
            "review '{activity}' with the adoption owner: target {target}, actual {actual}",
            "find what keeps the activity from its target",
            "adjust the itinerary or the target with the customer",
        ),
    ),
    SignalType.OBJECTIVE_AT_RISK: _Advice(
        Priority.HIGH,
        "Objective at risk",
        "The objective{about} is projected to miss its target. Review the itinerary with the "
        "customer and push the activities most correlated with it.",
        (
            "review the objective's projection with the customer",
            "focus the team on the activities most correlated with the objective",
            "agree on a revised plan, target or deadline if needed",
        ),
    ),
    SignalType.BLOCKER_REPORTED: _Advice(
        Priority.HIGH,
        "Roadblock reported",
        "The customer reported a blocker{subject_colon}. Find the way around it together.",
        (
            "acknowledge the blocker with the customer",
            "agree on a workaround and who owns it",
            "escalate to support or product if it needs a fix",
        ),
    ),
    SignalType.OBJECTIVE_ACHIEVED: _Advice(
        Priority.MEDIUM,
        "Objective achieved",
        "The customer reached the objective{about}. Celebrate with the customer and share the "
        "equivalents of the value delivered.",
        (
            "celebrate with the customer",
            "share the equivalents of the value delivered",
            "agree on the next objective",
        ),
    ),
}


def _raised(change: SignalChange, signal_type: SignalType) -> _Advice:
    evidence = change.evidence
    unit = evidence.get("unit")
    readable = _readable_of(signal_type, change.subject, evidence)
    fields = {
        "about": _about(readable),
        "subject_colon": f": {readable}" if readable else "",
        "activity": str(
            evidence.get("title") or evidence.get("activity") or readable or "an activity"
        ),
        "target": _amount(evidence.get("target"), unit),
        "actual": _amount(evidence.get("actual"), unit),
    }
    # Only the templates are parsed: braces inside a subject or evidence value stay literal.
    rule = _RULES[signal_type]
    return _Advice(
        rule.priority,
        rule.title.format(**fields),
        rule.message.format(**fields),
        tuple(action.format(**fields) for action in rule.actions),
    )


def _readable(subject: str | None, evidence: dict[str, Any]) -> str | None:
    """What a CSM can forward: the plan's title for the subject when it has one, never an
    internal metric such as ``$usage``."""
    title = evidence.get("title")
    if isinstance(title, str) and title:
        return title
    if subject is None or subject.startswith("$"):
        return None
    return subject


def _about(subject: str | None) -> str:
    return f" ({subject})" if subject else ""


def _amount(value: object, unit: object) -> str:
    if value is None:
        return "unknown"
    text = _number(value) if isinstance(value, int | float) else str(value)
    return f"{text} {unit}" if unit else text


def _number(value: float) -> str:
    # 25.0 reads as "25", 1234.5 as "1,234.5", 0.03249 as "0.0325": CSMs quote these to customers.
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"
