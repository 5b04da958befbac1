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

from services.correlation import risk, store
from services.correlation.batch import BatchFold
from services.correlation.evaluation import (
    USAGE_METRIC,
)
from services.correlation.settings import CorrelationSettings
from shared.erasure import Suppression, strings_in
from shared.erasure_runner import suppression
from shared.events import Envelope, EventKind

AccountKey = tuple[str, str]

SPONSOR_ASSIGNED = "sponsor.assigned"
ROLE_CHANGED_MARK = "role_changed"


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
    await store.upsert_buckets(session, fold)
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


# Underscored properties are transport metadata (ingest's ``_segment``: the Segment call type
# and its timestamps), not something the customer said about the account.
METADATA_PREFIX = "_"


async def _apply_lifecycle(
    session: AsyncSession, event: Envelope, attribution: _Attribution, now: datetime
) -> None:
    """People, accounts and organisational marks from lifecycle events."""
    tenant_id, props = event.tenant_id, event.properties
    account_id = attribution.account_of(event)
    match event.name:
        case "account.identified" if event.account_id is not None:
            traits = {k: v for k, v in props.items() if not k.startswith(METADATA_PREFIX)}
            await store.identify_account(session, tenant_id, event.account_id, traits, now)
            if event.person_id is not None:
                person = await store.person(session, tenant_id, event.person_id, event.occurred_at)
                person.account_id = event.account_id
                attribution.link(tenant_id, event.person_id, event.account_id)
        case "person.identified" if event.person_id is not None:
            person = await store.person(session, tenant_id, event.person_id, event.occurred_at)
            if event.account_id is not None:
                person.account_id = event.account_id
                attribution.link(tenant_id, event.person_id, event.account_id)
            role = props.get("role")
            if isinstance(role, str) and role != person.role:
                if person.role is not None and person.account_id is not None:
                    await store.add_mark(
                        session, tenant_id, person.account_id, ROLE_CHANGED_MARK, event.occurred_at
                    )
                person.role = role
            if isinstance(props.get("title"), str):
                person.title = props["title"]
            if isinstance(props.get("name"), str):
                person.name = props["name"]
            supervisor = props.get("supervisor_id") or props.get("manager_id")
            if isinstance(supervisor, str) and supervisor:
                person.supervisor_id = supervisor
            status = props.get("status")
            person.status = (
                status if isinstance(status, str) else ("active" if role else person.status)
            )
            person.changed_at = event.occurred_at
        case "person.aliased" if event.person_id is not None and props.get("previous_id"):
            current = await store.person(session, tenant_id, event.person_id, event.occurred_at)
            previous = await store.person(
                session, tenant_id, str(props["previous_id"]), event.occurred_at
            )
            if current.account_id is None and previous.account_id is not None:
                current.account_id = previous.account_id
                attribution.link(tenant_id, current.person_id, previous.account_id)
            elif current.account_id is not None and previous.account_id is None:
                previous.account_id = current.account_id
                attribution.link(tenant_id, previous.person_id, current.account_id)
            current.role = current.role or previous.role
        case "stakeholder.departed":
            person_id = props.get("person_id") or event.person_id
            if person_id:
                person = await store.person(session, tenant_id, str(person_id), event.occurred_at)
                if isinstance(props.get("role"), str):
                    person.role = props["role"]
                person.status = "departed"
                person.changed_at = event.occurred_at
                person.account_id = person.account_id or account_id
        case "sponsor.assigned" | "adoption_owner.assigned":
            person_id = props.get("person_id") or event.person_id
            if person_id and account_id:
                await _assign(session, event, str(person_id), account_id, attribution)
        case risk.REORGANIZATION_EVENT if account_id is not None:
            await store.add_mark(
                session, tenant_id, account_id, risk.REORGANIZATION_EVENT, event.occurred_at
            )
        case _:
            pass


async def _assign(
    session: AsyncSession,
    event: Envelope,
    person_id: str,
    account_id: str,
    attribution: _Attribution,
) -> None:
    """A named successor: the person takes the role and the plan names them."""
    role = "sponsor" if event.name == SPONSOR_ASSIGNED else "adoption_owner"
    person = await store.person(session, event.tenant_id, person_id, event.occurred_at)
    if person.role is not None and person.role != role:
        await store.add_mark(
            session, event.tenant_id, account_id, ROLE_CHANGED_MARK, event.occurred_at
        )
    person.role, person.status, person.changed_at = role, "active", event.occurred_at
    person.account_id = account_id
    attribution.link(event.tenant_id, person_id, account_id)
    plan = await store.get_plan(session, event.tenant_id, account_id)
    if plan is not None:
        update = {"sponsor_id" if role == "sponsor" else "adoption_owner_id": person_id}
        await store.put_plan(
            session, event.tenant_id, plan.model_copy(update=update), event.occurred_at
        )
