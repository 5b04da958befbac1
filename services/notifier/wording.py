"""How a recommendation reads: one template per signal type, filled from the signal's evidence,
and the "cleared" note of a resolved signal. Subjects are named as a CSM can forward them (the
people a signal is about, an activity's title), never by an account id or an internal metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.signals import SignalChange, SignalType


class Priority(StrEnum):
    """How soon a CSM should act."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


# Signals whose subject is the account itself: the webhook names the account, the text does not.
_ACCOUNT_SUBJECTS = frozenset({SignalType.SPONSOR_DEPARTURE, SignalType.REORGANIZATION})


@dataclass(frozen=True)
class Advice:
    """A recommendation's words: its priority, title, message and actions."""

    priority: Priority
    title: str
    message: str
    actions: tuple[str, ...]


def cleared(signal_type: SignalType, subject: str | None, evidence: dict[str, Any]) -> Advice:
    """The note of a resolved signal, naming who holds the role now where the evidence says."""
    label = signal_type.value.replace("_", " ")
    about = _about(_readable_of(signal_type, subject, evidence))
    successor = _people(evidence.get("sponsors") or evidence.get("adoption_owners"))
    handed = f" {successor} now holds the role." if successor else ""
    return Advice(
        Priority.LOW,
        f"Cleared: {label}{about}",
        f"The {label} signal{about} has cleared.{handed} Keep following the itinerary.",
        ("close any follow-up opened for this signal",),
    )


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


def raised(change: SignalChange, signal_type: SignalType) -> Advice:
    """The rule of ``signal_type`` filled from the change's subject and evidence."""
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
    return Advice(
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
    text = number(value) if isinstance(value, int | float) else str(value)
    return f"{text} {unit}" if unit else text


def number(value: float) -> str:
    """A figure as a CSM quotes it to a customer."""
    # 25.0 reads as "25", 1234.5 as "1,234.5", 0.03249 as "0.0325": CSMs quote these to customers.
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


# One rule per signal type. Templates may use {about} (" (subject)" or ""), {subject_colon}
# (": subject" or ""), and, from the evidence, {activity}, {target} and {actual}.
_RULES: dict[SignalType, Advice] = {
    SignalType.SPONSOR_DEPARTURE: Advice(
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
    SignalType.REORGANIZATION: Advice(
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
    SignalType.NO_ADOPTION_OWNER: Advice(
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
    SignalType.ADOPTION_DROP: Advice(
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
    SignalType.ACTIVITY_OFF_TRACK: Advice(
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
    SignalType.OBJECTIVE_AT_RISK: Advice(
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
    SignalType.BLOCKER_REPORTED: Advice(
        Priority.HIGH,
        "Roadblock reported",
        "The customer reported a blocker{subject_colon}. Find the way around it together.",
        (
            "acknowledge the blocker with the customer",
            "agree on a workaround and who owns it",
            "escalate to support or product if it needs a fix",
        ),
    ),
    SignalType.OBJECTIVE_ACHIEVED: Advice(
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
