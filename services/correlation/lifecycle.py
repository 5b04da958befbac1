"""Lifecycle rules: what a lifecycle event changes about people, accounts and plans (pure).

``people_named`` says whose stored state a lifecycle event needs; ``decide`` takes the event
and those people and returns a ``LifecycleChange`` (their new state, the person -> account
links it makes, dated marks of organisational changes, account traits, a plan role to name),
which ``intake`` writes back in the consumer's transaction, as ``risk`` decides signals for
``evaluation``.

A person's state follows event time, not arrival: an event older than what the stored state
already says (``Person.changed_at``), as a backfill sent out of order delivers, only fills in
what is unknown (an account, a role, a title). It never brings back a person a later event
said had left, nor names them on the plan, nor dates a role change: the result is the same
whatever order a person's history arrives in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.correlation import risk
from shared.events import Envelope

ACCOUNT_IDENTIFIED = "account.identified"
PERSON_IDENTIFIED = "person.identified"
PERSON_ALIASED = "person.aliased"
STAKEHOLDER_DEPARTED = "stakeholder.departed"
SPONSOR_ASSIGNED = "sponsor.assigned"
ADOPTION_OWNER_ASSIGNED = "adoption_owner.assigned"
ROLE_CHANGED_MARK = "role_changed"

# Underscored properties are transport metadata (ingest's ``_segment``: the Segment call type
# and its timestamps), not something the customer said about the account.
METADATA_PREFIX = "_"


@dataclass(frozen=True, slots=True)
class Person:
    """A person as stored: the account they belong to, their role and status, who they are."""

    person_id: str
    changed_at: datetime
    account_id: str | None = None
    role: str | None = None
    status: str = "active"
    title: str | None = None
    name: str | None = None
    supervisor_id: str | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """A dated organisational change of an account (``risk`` counts them)."""

    account_id: str
    kind: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PlanRole:
    """A person the account's success plan now names (``sponsor_id`` or ``adoption_owner_id``)."""

    account_id: str
    field: str
    person_id: str


@dataclass(frozen=True, slots=True)
class LifecycleChange:
    """What one lifecycle event changes; empty when it changes nothing."""

    people: tuple[Person, ...] = ()
    links: tuple[str, ...] = ()
    marks: tuple[Mark, ...] = ()
    traits: dict[str, Any] | None = None
    plan_role: PlanRole | None = None


def _named(event: Envelope) -> str | None:
    """The person a stakeholder event is about: its ``person_id`` property, else its person."""
    person_id = event.properties.get("person_id") or event.person_id
    return str(person_id) if person_id else None


def people_named(event: Envelope, account_id: str | None) -> tuple[str, ...]:
    """Ids of the people whose stored state ``decide`` reads for ``event`` (attributed to
    ``account_id``); unknown people are read as new, active and of no account."""
    match event.name:
        case "account.identified" if event.account_id is not None:
            return (event.person_id,) if event.person_id is not None else ()
        case "person.identified" if event.person_id is not None:
            return (event.person_id,)
        case "person.aliased" if event.person_id is not None and event.properties.get(
            "previous_id"
        ):
            return (event.person_id, str(event.properties["previous_id"]))
        case "stakeholder.departed":
            named = _named(event)
            return (named,) if named else ()
        case "sponsor.assigned" | "adoption_owner.assigned":
            named = _named(event)
            return (named,) if named and account_id else ()
    return ()


def decide(
    event: Envelope, account_id: str | None, people: Mapping[str, Person]
) -> LifecycleChange:
    """The change ``event`` makes, given the people ``people_named`` asked for."""
    props = event.properties
    match event.name:
        case "account.identified" if event.account_id is not None:
            traits = {k: v for k, v in props.items() if not k.startswith(METADATA_PREFIX)}
            if event.person_id is None:
                return LifecycleChange(traits=traits)
            person = replace(people[event.person_id], account_id=event.account_id)
            return LifecycleChange((person,), (person.person_id,), traits=traits)
        case "person.identified" if event.person_id is not None:
            return _identified(event, people[event.person_id])
        case "person.aliased" if event.person_id is not None and props.get("previous_id"):
            return _aliased(people[event.person_id], people[str(props["previous_id"])])
        case "stakeholder.departed":
            named = _named(event)
            if not named:
                return LifecycleChange()
            person = people[named]
            role = props.get("role")
            known = replace(
                person,
                role=person.role or (role if isinstance(role, str) else None),
                account_id=person.account_id or account_id,
            )
            if _stale(event, person):
                return LifecycleChange((known,))
            departed = replace(
                known,
                role=role if isinstance(role, str) else person.role,
                status="departed",
                changed_at=event.occurred_at,
            )
            return LifecycleChange((departed,))
        case "sponsor.assigned" | "adoption_owner.assigned":
            named = _named(event)
            if not named or not account_id:
                return LifecycleChange()
            return _assigned(event, people[named], account_id)
        case risk.REORGANIZATION_EVENT if account_id is not None:
            return LifecycleChange(marks=(Mark(account_id, event.name, event.occurred_at),))
    return LifecycleChange()


def _stale(event: Envelope, person: Person) -> bool:
    """Whether ``event`` happened before the person's stored state was last changed: it
    arrived late, and what it says is older than what is known."""
    return event.occurred_at < person.changed_at


def _identified(event: Envelope, person: Person) -> LifecycleChange:
    """Who a person is: their account, role, title, name, supervisor and status; a change of
    an existing role at a known account is an organisational change. An identify older than
    the stored state only fills in what is unknown."""
    props = event.properties
    links: tuple[str, ...] = ()
    if event.account_id is not None and not (_stale(event, person) and person.account_id):
        person = replace(person, account_id=event.account_id)
        links = (person.person_id,)
    if _stale(event, person):
        return LifecycleChange((_filled(person, props),), links)
    marks: tuple[Mark, ...] = ()
    role = props.get("role")
    if isinstance(role, str) and role != person.role:
        if person.role is not None and person.account_id is not None:
            marks = (Mark(person.account_id, ROLE_CHANGED_MARK, event.occurred_at),)
        person = replace(person, role=role)
    if isinstance(props.get("title"), str):
        person = replace(person, title=props["title"])
    if isinstance(props.get("name"), str):
        person = replace(person, name=props["name"])
    supervisor = _supervisor(props)
    if supervisor:
        person = replace(person, supervisor_id=supervisor)
    status = props.get("status")
    person = replace(
        person,
        status=status if isinstance(status, str) else ("active" if role else person.status),
        changed_at=event.occurred_at,
    )
    return LifecycleChange((person,), links, marks)


def _supervisor(props: Mapping[str, Any]) -> str | None:
    supervisor = props.get("supervisor_id") or props.get("manager_id")
    return supervisor if isinstance(supervisor, str) and supervisor else None


def _filled(person: Person, props: Mapping[str, Any]) -> Person:
    """``person`` with the role, title, name and supervisor ``props`` give where none is known."""

    def given(key: str) -> str | None:
        value = props.get(key)
        return value if isinstance(value, str) else None

    return replace(
        person,
        role=person.role or given("role"),
        title=person.title or given("title"),
        name=person.name or given("name"),
        supervisor_id=person.supervisor_id or _supervisor(props),
    )


def _aliased(current: Person, previous: Person) -> LifecycleChange:
    """Two ids of one person: whichever knows the account lends it to the other, and the
    current id keeps a role it lacks from the previous one."""
    if current.person_id == previous.person_id:
        return LifecycleChange()
    links: tuple[str, ...] = ()
    if current.account_id is None and previous.account_id is not None:
        current = replace(current, account_id=previous.account_id)
        links = (current.person_id,)
    elif current.account_id is not None and previous.account_id is None:
        previous = replace(previous, account_id=current.account_id)
        links = (previous.person_id,)
    current = replace(current, role=current.role or previous.role)
    return LifecycleChange((current, previous), links)


def _assigned(event: Envelope, person: Person, account_id: str) -> LifecycleChange:
    """A named successor: the person takes the role at the account and the plan names them.
    An assignment older than the person's stored state (they left since) only links them."""
    role = "sponsor" if event.name == SPONSOR_ASSIGNED else "adoption_owner"
    if _stale(event, person):
        known = replace(
            person, role=person.role or role, account_id=person.account_id or account_id
        )
        return LifecycleChange((known,), (known.person_id,))
    marks: tuple[Mark, ...] = ()
    if person.role is not None and person.role != role:
        marks = (Mark(account_id, ROLE_CHANGED_MARK, event.occurred_at),)
    assigned = replace(
        person, role=role, status="active", changed_at=event.occurred_at, account_id=account_id
    )
    field = "sponsor_id" if role == "sponsor" else "adoption_owner_id"
    return LifecycleChange(
        (assigned,),
        (assigned.person_id,),
        marks,
        plan_role=PlanRole(account_id, field, person.person_id),
    )
