"""Applying a batch of events inside the consumer's transaction.

Claim the event ids (redeliveries are skipped), attribute each event to its account (directly,
through its person, or later from the pending table), apply lifecycle changes to accounts and
people, and fold metric values into bucket deltas upserted once per batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation import bucket_store, lifecycle, risk, store
from services.correlation.batch import BatchFold
from services.correlation.evaluation import USAGE_METRIC
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import PersonRow
from shared.erasure import Suppression, strings_in
from shared.erasure_runner import suppression
from shared.events import Envelope, EventKind

AccountKey = tuple[str, str]


@dataclass
class AppliedBatch:
    """What a batch changed: the accounts it touched, how far their values reach in event time,
    and their lifecycle and blocker events in order.

    ``extents`` holds, per account, the latest ``occurred_at`` of a value and the earliest
    period a value landed in (a value in a period already judged is late data); ``lifecycle``
    holds the accounts that got a lifecycle event.
    """

    touched: set[AccountKey] = field(default_factory=set)
    extents: dict[AccountKey, tuple[datetime, str]] = field(default_factory=dict)
    lifecycle: set[AccountKey] = field(default_factory=set)
    blockers: dict[AccountKey, list[Envelope]] = field(default_factory=lambda: defaultdict(list))


class _Attribution:
    """Person -> account links known while applying one batch (loaded, then kept up to date)."""

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], str | None] = {}
        self.linked: set[tuple[str, str]] = set()

    def link(self, tenant_id: str, person_id: str, account_id: str) -> None:
        if self.accounts.get((tenant_id, person_id)) != account_id:
            self.accounts[(tenant_id, person_id)] = account_id
            self.linked.add((tenant_id, person_id))

    def account_of(self, event: Envelope) -> str | None:
        if event.account_id is not None:
            return event.account_id
        if event.person_id is None:
            return None
        return self.accounts.get((event.tenant_id, event.person_id))


async def apply_events(
    session: AsyncSession,
    envelopes: Sequence[Envelope],
    settings: CorrelationSettings,
    now: datetime,
) -> AppliedBatch:
    """Claim, attribute and fold a batch; returns the touched accounts. Events of an erased
    tenant or person (still in flight when the erasure came) are dropped."""
    suppressed = await suppression(session, {e.tenant_id for e in envelopes})
    if suppressed:
        envelopes = [e for e in envelopes if not _suppressed(suppressed, e)]
    # The claim takes each id once, however often the batch carries it.
    fresh = await store.claim_events(session, [(e.tenant_id, e.id) for e in envelopes])
    events = []
    for event in envelopes:
        # An id twice in one batch is a redelivery too: only its first copy counts.
        if (event.tenant_id, event.id) in fresh:
            fresh.discard((event.tenant_id, event.id))
            events.append(event)
    attribution = _Attribution()
    await _load_links(session, events, attribution)
    fold = BatchFold(settings.period_unit)
    batch = AppliedBatch()
    pending: list[Envelope] = []
    for event in events:
        if event.kind is EventKind.LIFECYCLE:
            await _apply_lifecycle(session, event, attribution, now)
        account_id = attribution.account_of(event)
        if account_id is None:
            if event.person_id is not None and event.kind is not EventKind.LIFECYCLE:
                pending.append(event)
            continue
        _attribute(event, account_id, fold, batch)
    still_pending = []
    for event in pending:
        account_id = attribution.account_of(event)
        if account_id is None:
            still_pending.append(event)
        else:
            _attribute(event, account_id, fold, batch)
    await store.add_pending(
        session,
        [(e.tenant_id, e.person_id or "", e.model_dump(mode="json")) for e in still_pending],
    )
    await _drain_pending(session, attribution, fold, batch)
    await bucket_store.upsert_buckets(session, fold)
    batch.extents = fold.extents()
    return batch


def _suppressed(suppressed: Suppression, event: Envelope) -> bool:
    return suppressed.drops(event.tenant_id, event.person_id) or suppressed.drops_any(
        event.tenant_id, strings_in(event.properties)
    )


def _attribute(event: Envelope, account_id: str, fold: BatchFold, batch: AppliedBatch) -> None:
    key = (event.tenant_id, account_id)
    batch.touched.add(key)
    if event.name in (risk.BLOCKER_REPORTED_EVENT, risk.BLOCKER_RESOLVED_EVENT):
        batch.blockers[key].append(event)
    if event.kind is EventKind.LIFECYCLE:
        batch.lifecycle.add(key)
        return
    tenant_id, at = event.tenant_id, event.occurred_at
    period = fold.add(tenant_id, account_id, event.name, event.value, at)
    if event.kind is EventKind.USAGE:
        fold.add(tenant_id, account_id, USAGE_METRIC, 1.0, at, period=period)


async def _load_links(
    session: AsyncSession, events: Sequence[Envelope], attribution: _Attribution
) -> None:
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.person_id is not None and (
            event.account_id is None or event.kind is EventKind.LIFECYCLE
        ):
            wanted[event.tenant_id].add(event.person_id)
    for tenant_id, person_ids in wanted.items():
        people = await store.load_people(session, tenant_id, person_ids)
        for person_id in person_ids:
            row = people.get(person_id)
            attribution.accounts[(tenant_id, person_id)] = row.account_id if row else None


async def _drain_pending(
    session: AsyncSession, attribution: _Attribution, fold: BatchFold, batch: AppliedBatch
) -> None:
    """Attribute stored events of persons this batch linked to an account."""
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for tenant_id, person_id in attribution.linked:
        by_tenant[tenant_id].append(person_id)
    for tenant_id, person_ids in by_tenant.items():
        for data in await store.take_pending(session, tenant_id, person_ids):
            event = Envelope.model_validate(data)
            account_id = attribution.account_of(event)
            if account_id is not None:
                _attribute(event, account_id, fold, batch)


async def _apply_lifecycle(
    session: AsyncSession, event: Envelope, attribution: _Attribution, now: datetime
) -> None:
    """People, accounts, marks and plan roles as ``lifecycle.decide`` says the event changes
    them; people it names and the store does not know yet are created."""
    tenant_id = event.tenant_id
    account_id = attribution.account_of(event)
    rows = {
        person_id: await store.person(session, tenant_id, person_id, event.occurred_at)
        for person_id in lifecycle.people_named(event, account_id)
    }
    change = lifecycle.decide(
        event, account_id, {person_id: _person(row) for person_id, row in rows.items()}
    )
    if change.traits is not None and event.account_id is not None:
        await store.identify_account(session, tenant_id, event.account_id, change.traits, now)
    for person in change.people:
        _write(rows[person.person_id], person)
    for person_id in change.links:
        linked = rows[person_id].account_id
        if linked is not None:
            attribution.link(tenant_id, person_id, linked)
    for mark in change.marks:
        await store.add_mark(session, tenant_id, mark.account_id, mark.kind, mark.at)
    if change.plan_role is not None:
        role = change.plan_role
        plan = await store.get_plan(session, tenant_id, role.account_id)
        if plan is not None:
            named = plan.model_copy(update={role.field: role.person_id})
            await store.put_plan(session, tenant_id, named, event.occurred_at)


def _person(row: PersonRow) -> lifecycle.Person:
    return lifecycle.Person(
        person_id=row.person_id,
        changed_at=row.changed_at,
        account_id=row.account_id,
        role=row.role,
        status=row.status,
        title=row.title,
        name=row.name,
        supervisor_id=row.supervisor_id,
    )


def _write(row: PersonRow, person: lifecycle.Person) -> None:
    row.account_id, row.role, row.status = person.account_id, person.role, person.status
    row.title, row.name, row.supervisor_id = person.title, person.name, person.supervisor_id
    row.changed_at = person.changed_at
