"""The lifecycle rules alone: what each lifecycle event changes (pure, no I/O)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from services.correlation.lifecycle import (
    ROLE_CHANGED_MARK,
    LifecycleChange,
    Mark,
    Person,
    PlanRole,
    decide,
    people_named,
)
from services.correlation.risk import REORGANIZATION_EVENT
from shared.events import Envelope, EventKind
from tests.correlation.support import envelope

AT = datetime(2026, 11, 2, 9, tzinfo=UTC)
EARLIER = datetime(2026, 10, 1, tzinfo=UTC)


def _event(name: str, **fields: Any) -> Envelope:
    return envelope("tn_l", name, AT, kind=EventKind.LIFECYCLE, **fields)


def _decided(event: Envelope, account_id: str | None, *known: Person) -> LifecycleChange:
    """``decide`` with the people ``people_named`` asks for: the known ones as given, the others
    new (active, no account), as the store creates them."""
    stored = {person.person_id: person for person in known}
    people = {
        person_id: stored.get(person_id, Person(person_id, changed_at=AT))
        for person_id in people_named(event, account_id)
    }
    return decide(event, account_id, people)


def test_a_first_role_is_no_reorganisation_but_a_changed_one_is() -> None:
    new = _decided(_event("person.identified", person_id="p1", account_id="acme",
                          properties={"role": "sponsor", "title": "VP Ops", "name": "Ana"}),
                   "acme")  # fmt: skip
    [person] = new.people
    assert (person.role, person.title, person.name, person.account_id) == (
        "sponsor", "VP Ops", "Ana", "acme",
    )  # fmt: skip
    assert new.marks == () and new.links == ("p1",)

    known = Person("p1", changed_at=EARLIER, account_id="acme", role="sponsor")
    changed = _decided(
        _event("person.identified", person_id="p1", properties={"role": "user"}), "acme", known
    )
    assert changed.marks == (Mark("acme", ROLE_CHANGED_MARK, AT),)
    assert changed.people[0].role == "user" and changed.people[0].changed_at == AT
    assert changed.links == ()  # the event named no account: nothing newly linked


def test_an_identify_without_role_or_status_keeps_the_status() -> None:
    known = Person("p1", changed_at=EARLIER, status="departed")
    change = _decided(_event("person.identified", person_id="p1", properties={}), None, known)
    assert change.people[0].status == "departed"


@pytest.mark.parametrize(("stored", "attributed", "expected"), [
    (None, "acme", "acme"),
    ("globex", "acme", "globex"),
])  # fmt: skip
def test_a_departure_marks_the_person_departed_at_their_account(
    stored: str | None, attributed: str, expected: str
) -> None:
    known = Person("p1", changed_at=EARLIER, account_id=stored, role="sponsor")
    change = _decided(
        _event("stakeholder.departed", properties={"person_id": "p1"}), attributed, known
    )
    [person] = change.people
    assert (person.status, person.account_id, person.role) == ("departed", expected, "sponsor")
    assert change.links == ()


def test_an_assigned_sponsor_takes_the_role_and_the_plan_names_them() -> None:
    owner = Person("p2", changed_at=EARLIER, account_id="acme", role="adoption_owner")
    change = _decided(
        _event("sponsor.assigned", account_id="acme", properties={"person_id": "p2"}),
        "acme",
        owner,
    )
    [person] = change.people
    assert (person.role, person.status, person.account_id) == ("sponsor", "active", "acme")
    assert change.plan_role == PlanRole("acme", "sponsor_id", "p2")
    assert change.marks == (Mark("acme", ROLE_CHANGED_MARK, AT),)


def test_an_assignment_without_an_account_changes_nothing() -> None:
    event = _event("adoption_owner.assigned", properties={"person_id": "p2"})
    assert people_named(event, None) == ()
    assert decide(event, None, {}) == LifecycleChange()


def test_an_alias_lends_the_known_account_to_the_id_that_lacks_it() -> None:
    anonymous = Person("anon-1", changed_at=EARLIER, account_id="acme", role="user")
    change = _decided(
        _event("person.aliased", person_id="u-1", properties={"previous_id": "anon-1"}),
        None,
        anonymous,
    )
    current, previous = change.people
    assert (current.person_id, current.account_id, current.role) == ("u-1", "acme", "user")
    assert previous == anonymous and change.links == ("u-1",)
    same = _event("person.aliased", person_id="u-1", properties={"previous_id": "u-1"})
    assert _decided(same, None) == LifecycleChange()


def test_account_traits_leave_transport_metadata_out() -> None:
    change = _decided(
        _event("account.identified", account_id="acme",
               properties={"segment": "smb", "_segment": {"type": "group"}}),
        "acme",
    )  # fmt: skip
    assert change.traits == {"segment": "smb"} and change.people == ()


def test_a_reorganisation_is_a_dated_mark_of_its_account() -> None:
    change = _decided(_event(REORGANIZATION_EVENT, account_id="acme"), "acme")
    assert change.marks == (Mark("acme", REORGANIZATION_EVENT, AT),)
    assert _decided(_event(REORGANIZATION_EVENT), None) == LifecycleChange()


LATER = datetime(2026, 11, 20, tzinfo=UTC)


def _at(moment: datetime, name: str, **fields: Any) -> Envelope:
    return envelope("tn_l", name, moment, kind=EventKind.LIFECYCLE, **fields)


def test_an_older_identify_arriving_late_fills_in_but_does_not_bring_a_departed_person_back() -> (
    None
):
    departed = Person("p1", changed_at=AT, account_id="acme", role="sponsor", status="departed")
    late = _at(EARLIER, "person.identified", person_id="p1", account_id="globex",
               properties={"role": "user", "title": "VP Ops", "status": "active"})  # fmt: skip
    [person] = _decided(late, "acme", departed).people
    assert (person.status, person.role, person.account_id, person.changed_at) == (
        "departed", "sponsor", "acme", AT,
    )  # fmt: skip
    assert person.title == "VP Ops"
    assert _decided(late, "acme", departed).marks == ()


def test_an_older_assignment_arriving_after_the_departure_names_nobody() -> None:
    departed = Person("p2", changed_at=AT, account_id="acme", role="sponsor", status="departed")
    late = _at(EARLIER, "sponsor.assigned", account_id="acme", properties={"person_id": "p2"})
    change = _decided(late, "acme", departed)
    assert change.plan_role is None and change.marks == ()
    assert change.people[0].status == "departed" and change.people[0].changed_at == AT


def test_an_older_departure_arriving_after_a_return_leaves_the_person_active() -> None:
    back = Person("p3", changed_at=AT, account_id="acme", role="sponsor")
    [person] = _decided(
        _at(EARLIER, "stakeholder.departed", properties={"person_id": "p3"}), "acme", back
    ).people
    assert (person.status, person.changed_at) == ("active", AT)


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_a_persons_history_in_any_order_ends_in_the_same_state(order: tuple[int, ...]) -> None:
    history = [
        _at(EARLIER, "person.identified", person_id="p1", account_id="acme",
            properties={"role": "adoption_owner", "title": "Ops lead"}),
        _at(AT, "adoption_owner.assigned", account_id="acme", properties={"person_id": "p1"}),
        _at(LATER, "stakeholder.departed", properties={"person_id": "p1", "role": "adoption_owner"}),
        _at(EARLIER, "person.identified", person_id="p1", properties={"name": "Ana"}),
    ]  # fmt: skip

    def final(events: list[Envelope]) -> Person:
        person = Person("p1", changed_at=events[0].occurred_at)
        for event in events:
            for changed in _decided(event, "acme", person).people:
                person = changed
        return person

    in_time = final(sorted(history, key=lambda event: event.occurred_at))
    assert in_time.status == "departed" and in_time.changed_at == LATER
    assert final([history[i] for i in order]) == in_time
