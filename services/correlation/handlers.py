"""Use cases of the correlation service; each owns its transaction.

``process_records`` is the consumer's: decode, then in one transaction apply the events
(``intake``) and re-evaluate the touched accounts (``reevaluation``), whose signal changes go
to the outbox. The sweeper's and the API's writes follow; the API's reads are in ``queries``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.correlation import progress_store, signal_store, store
from services.correlation.buckets import period_start
from services.correlation.errors import (
    InvalidPlan,
    PlanNotFound,
    SignalNotFound,
)
from services.correlation.event_time import Scope, clock_through, on_change, on_sweep
from services.correlation.intake import apply_events
from services.correlation.plans import SuccessPlan
from services.correlation.queries import Sessions, require_account
from services.correlation.records import Signal
from services.correlation.reevaluation import (
    evaluate_account,
    evaluate_accounts,
    resolve_plan_signals,
)
from services.correlation.settings import CorrelationSettings
from shared.clock import utc_now
from shared.consuming import DeadLetter, decode_records
from shared.erasure import ErasureRequest, ErasureScope
from shared.events import Envelope
from shared.http import field_path


@dataclass(frozen=True, slots=True)
class Context:
    """What the API's use cases need, built once in ``create_app``'s lifespan: the sessions,
    the settings, and how to wake the outbox relay after writing signal changes."""

    sessions: Sessions
    settings: CorrelationSettings
    wake_relay: Callable[[], None]


# --- the consumer's use case -------------------------------------------------------------------


async def process_records(
    sessions: Sessions,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
    on_evaluated: Callable[[], None] | None = None,
) -> list[DeadLetter]:
    """Apply a consumer batch in one transaction; malformed records come back as dead letters.

    ``on_evaluated`` runs after the commit when accounts were evaluated (the outbox may have
    new rows): the consumer wakes the relay with it.
    """
    decoded, letters = decode_records(records, Envelope.from_value, "envelope")
    envelopes = [envelope for _, envelope in decoded]
    if envelopes:
        moment = now or utc_now()
        async with sessions.begin() as session:
            batch = await apply_events(session, envelopes, settings, moment)
            evaluated = await evaluate_accounts(session, batch, settings, moment)
        if evaluated and on_evaluated is not None:
            on_evaluated()
    return letters


# --- erasure -------------------------------------------------------------------------------


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A tenant's every row, or a person's data (``store.erase_person``), in the erasure
    runner's transaction."""
    if request.scope is ErasureScope.TENANT:
        await store.erase_tenant(session, request.tenant_id)
    elif request.person_id is not None:
        await store.erase_person(session, request.tenant_id, request.person_id)


# --- the sweeper's use case ------------------------------------------------------------------


async def sweep_stale_accounts(
    sessions: Sessions, settings: CorrelationSettings, *, now: datetime | None = None
) -> int:
    """Judge the idle accounts that have a period the wall clock completed left to judge, and
    re-evaluate those no event touched for a sweep interval; returns how many.

    Time alone changes some answers: a week ends while an account is silent, a reorganisation's
    quiet window ends, the deadline nears. Account rows are locked before the health rows (the
    consumer's order), and each account's progress is read again under the lock, so an account
    another instance judged meanwhile is left alone.
    """
    moment = now or utc_now()
    config = settings.evaluation
    before = moment - timedelta(seconds=settings.sweep_interval_seconds)
    clock = clock_through(moment, config)
    evaluated = 0
    async with sessions.begin() as session:
        idle = await progress_store.idle_accounts(
            session,
            clock=clock,
            tail_since=moment - config.tail_idle,
            tail_watermark=period_start(clock, config.unit) + config.allowed_lateness,
            quiet_since=before,
            limit=settings.sweep_batch_size,
        )
        stale = await signal_store.stale_accounts(session, before, settings.sweep_batch_size)
        by_tenant: dict[str, set[str]] = defaultdict(set)
        for tenant_id, account_id in [*idle, *stale]:
            by_tenant[tenant_id].add(account_id)
        streams = await progress_store.tenant_streams(session, by_tenant)
        for tenant_id, account_ids in by_tenant.items():
            await signal_store.lock_accounts(session, tenant_id, account_ids)
            progress = await progress_store.progress_of(session, tenant_id, account_ids)
            last = await signal_store.evaluated_at(session, tenant_id, account_ids)
            for account_id in sorted(account_ids):
                stream = streams.get(tenant_id)
                scope, through = on_sweep(progress[account_id], moment, config, stream)
                if scope is not Scope.JUDGEMENT and last.get(account_id, before) >= before:
                    continue  # evaluated recently, by an event or another instance
                await evaluate_account(
                    session, tenant_id, account_id, settings, moment, scope=scope, through=through
                )
                evaluated += 1
    return evaluated


# --- the API's use cases -------------------------------------------------------------------------


async def put_plan(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    body: dict[str, Any],
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> SuccessPlan:
    """Create or replace the account's plan (and the account), then evaluate it."""
    moment = now or utc_now()
    try:
        plan = SuccessPlan.model_validate(
            {"id": f"plan-{account_id}", **body, "account_id": account_id}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = field_path(first["loc"])
        raise InvalidPlan(f"{field}: {first['msg']}", field=field) from exc
    async with sessions.begin() as session:
        await store.ensure_accounts(session, [(tenant_id, account_id)], moment)
        await signal_store.lock_accounts(session, tenant_id, [account_id])
        await store.put_plan(session, tenant_id, plan, moment)
        await _evaluate_change(session, tenant_id, account_id, settings, moment, plan=True)
    return plan


async def _evaluate_change(
    session: AsyncSession,
    tenant_id: str,
    account_id: str,
    settings: CorrelationSettings,
    now: datetime,
    *,
    plan: bool,
) -> None:
    """Evaluate a locked account after a plan put or an acknowledgement."""
    progress = (await progress_store.progress_of(session, tenant_id, [account_id]))[account_id]
    scope, through = on_change(progress, now, settings.evaluation, plan=plan)
    if scope is not None:
        await evaluate_account(
            session, tenant_id, account_id, settings, now, scope=scope, through=through
        )


async def delete_plan(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> None:
    """Delete the account's plan; the signals about it resolve. 404 without one."""
    moment = now or utc_now()
    async with sessions.begin() as session:
        await require_account(session, tenant_id, account_id)
        await signal_store.lock_accounts(session, tenant_id, [account_id])
        if not await store.delete_plan(session, tenant_id, account_id):
            raise PlanNotFound(f"account {account_id!r} has no success plan", field="account_id")
        await resolve_plan_signals(session, tenant_id, account_id, moment)
        await _evaluate_change(session, tenant_id, account_id, settings, moment, plan=False)


async def acknowledge_signal(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    signal_id: str,
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> Signal:
    """A CSM saw the signal; a reorganisation resolves on acknowledgement."""
    moment = now or utc_now()
    async with sessions.begin() as session:
        await require_account(session, tenant_id, account_id)
        await signal_store.lock_accounts(session, tenant_id, [account_id])
        row = await signal_store.get_signal(session, tenant_id, account_id, signal_id)
        if row is None:
            raise SignalNotFound(f"no signal {signal_id!r} on this account", field="signal_id")
        row.acknowledged_at = row.acknowledged_at or moment
        await session.flush()
        await _evaluate_change(session, tenant_id, account_id, settings, moment, plan=False)
    return Signal.of(row)
