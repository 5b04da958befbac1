"""Use cases of the correlation service; each owns its transaction.

``process_records`` is the consumer's: decode, then in one transaction apply the events
(``intake``) and re-evaluate the touched accounts (``reevaluation``), whose signal changes go
to the outbox. The API's use cases follow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation import bucket_store, progress_store, signal_store, store
from services.correlation.buckets import period_start
from services.correlation.cohorts import ItineraryStep, PooledEffect, ideal_itinerary, pool_cohort
from services.correlation.correlations import PairCorrelation, correlate_plan
from services.correlation.errors import (
    AccountNotFound,
    HealthNotFound,
    InvalidPlan,
    PlanNotFound,
    SignalNotFound,
)
from services.correlation.evaluation import (
    AccountState,
    SignalSpan,
    account_series,
    first_period,
    health_history,
    plan_metrics,
    plan_verdicts,
)
from services.correlation.event_time import Progress, Scope, clock_through, on_change, on_sweep
from services.correlation.intake import apply_events
from services.correlation.leadlag import LeadLag
from services.correlation.plans import SuccessPlan
from services.correlation.reevaluation import (
    evaluate_account,
    evaluate_accounts,
    evaluation_config,
    resolve_plan_signals,
)
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import AccountRow, HealthSnapshotRow, PersonRow, SignalRow
from shared.clock import utc_now
from shared.consuming import DeadLetter
from shared.erasure import ErasureRequest, ErasureScope
from shared.events import Envelope, MalformedEnvelope
from shared.http import field_path
from shared.signals import SignalState, SignalType

Sessions = async_sessionmaker[AsyncSession]


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
    envelopes: list[Envelope] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            envelopes.append(Envelope.from_value(record.value))
        except MalformedEnvelope as exc:
            letters.append(DeadLetter(record, f"malformed envelope: {exc}"))
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
    config = evaluation_config(settings)
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
        for tenant_id, account_ids in by_tenant.items():
            await signal_store.lock_accounts(session, tenant_id, account_ids)
            progress = await progress_store.progress_of(session, tenant_id, account_ids)
            last = await signal_store.evaluated_at(session, tenant_id, account_ids)
            for account_id in sorted(account_ids):
                scope, through = on_sweep(progress[account_id], moment, config)
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


async def get_plan(sessions: Sessions, tenant_id: str, account_id: str) -> SuccessPlan:
    """The account's plan; 404 for an unknown account or one without a plan."""
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        plan = await store.get_plan(session, tenant_id, account_id)
    if plan is None:
        raise PlanNotFound(f"account {account_id!r} has no success plan", field="account_id")
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
    scope, through = on_change(progress, now, evaluation_config(settings), plan=plan)
    if scope is not None:
        await evaluate_account(
            session, tenant_id, account_id, settings, now, scope=scope, through=through
        )


async def _require_account(session: AsyncSession, tenant_id: str, account_id: str) -> None:
    if not await store.account_exists(session, tenant_id, account_id):
        raise AccountNotFound(f"no account {account_id!r}", field="account_id")


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
        await _require_account(session, tenant_id, account_id)
        await signal_store.lock_accounts(session, tenant_id, [account_id])
        if not await store.delete_plan(session, tenant_id, account_id):
            raise PlanNotFound(f"account {account_id!r} has no success plan", field="account_id")
        await resolve_plan_signals(session, tenant_id, account_id, moment)
        await _evaluate_change(session, tenant_id, account_id, settings, moment, plan=False)


@dataclass(frozen=True)
class AccountDetail:
    """One account as a CSM tool shows it."""

    account: AccountRow
    progress: Progress
    health: HealthSnapshotRow | None
    open_signals: dict[str, int]
    plan: SuccessPlan | None


async def get_account(sessions: Sessions, tenant_id: str, account_id: str) -> AccountDetail:
    """The account's traits, health, open signal counts and plan; 404 when unknown."""
    async with sessions() as session:
        account = await store.get_account(session, tenant_id, account_id)
        if account is None:
            raise AccountNotFound(f"no account {account_id!r}", field="account_id")
        return AccountDetail(
            account=account,
            progress=(await progress_store.progress_of(session, tenant_id, [account_id]))[
                account_id
            ],
            health=await signal_store.get_health(session, tenant_id, account_id),
            open_signals=await store.open_signal_counts(session, tenant_id, account_id),
            plan=await store.get_plan(session, tenant_id, account_id),
        )


async def list_people(
    sessions: Sessions, tenant_id: str, account_id: str
) -> tuple[list[PersonRow], SuccessPlan | None]:
    """The account's people and its plan (which names the sponsor and adoption owner)."""
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        return (
            await store.people_of(session, tenant_id, account_id),
            await store.get_plan(session, tenant_id, account_id),
        )


@dataclass(frozen=True)
class PlanAnalysis:
    """What the AM/PM view shows: the plan, its series, the verdicts and the raw coefficients."""

    plan: SuccessPlan
    series: dict[str, Any]
    verdicts: tuple[LeadLag, ...]
    pairs: tuple[PairCorrelation, ...]


async def analyse_plan(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> PlanAnalysis:
    """The plan's series over the evaluation window and every (activity, objective) correlation."""
    moment = now or utc_now()
    config = evaluation_config(settings)
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        plan = await store.get_plan(session, tenant_id, account_id)
        if plan is None:
            raise PlanNotFound(f"account {account_id!r} has no success plan", field="account_id")
        buckets = await bucket_store.load_buckets(
            session,
            tenant_id,
            [account_id],
            plan_metrics(plan),
            config.unit,
            first_period(moment, config),
        )
    state = AccountState(account_id, plan, (), buckets.get(account_id, {}))
    series = account_series(state, moment, config)
    pairs = correlate_plan(plan, series, max_lag=config.max_lag, min_points=config.min_points)
    return PlanAnalysis(plan, series, plan_verdicts(plan, series, config), pairs)


async def list_signals(
    sessions: Sessions, tenant_id: str, account_id: str, state: SignalState | None
) -> list[SignalRow]:
    """The account's signals, optionally only open or resolved ones."""
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        return await signal_store.signals_of(session, tenant_id, account_id, state)


async def acknowledge_signal(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    signal_id: str,
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> SignalRow:
    """A CSM saw the signal; a reorganisation resolves on acknowledgement."""
    moment = now or utc_now()
    async with sessions.begin() as session:
        await _require_account(session, tenant_id, account_id)
        await signal_store.lock_accounts(session, tenant_id, [account_id])
        row = await signal_store.get_signal(session, tenant_id, account_id, signal_id)
        if row is None:
            raise SignalNotFound(f"no signal {signal_id!r} on this account", field="signal_id")
        row.acknowledged_at = row.acknowledged_at or moment
        await session.flush()
        await _evaluate_change(session, tenant_id, account_id, settings, moment, plan=False)
    return row


async def get_health(
    sessions: Sessions, tenant_id: str, account_id: str
) -> tuple[HealthSnapshotRow, list[SignalRow], Progress]:
    """The latest health snapshot, the open signals behind it and the account's progress."""
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        snapshot = await signal_store.get_health(session, tenant_id, account_id)
        if snapshot is None:
            raise HealthNotFound(f"account {account_id!r} has not been evaluated yet")
        signals = await signal_store.signals_of(session, tenant_id, account_id, SignalState.OPEN)
        progress = (await progress_store.progress_of(session, tenant_id, [account_id]))[account_id]
    return snapshot, signals, progress


async def health_trend(
    sessions: Sessions,
    tenant_id: str,
    account_id: str,
    settings: CorrelationSettings,
    *,
    periods: int,
    now: datetime | None = None,
) -> list[tuple[str, float]]:
    """The account's health as of each of its last ``periods`` judged periods (oldest first);
    empty until the account is judged."""
    moment = now or utc_now()
    config = evaluation_config(settings)
    async with sessions() as session:
        await _require_account(session, tenant_id, account_id)
        progress = (await progress_store.progress_of(session, tenant_id, [account_id]))[account_id]
        if progress.judged_through is None:
            return []
        plan = await store.get_plan(session, tenant_id, account_id)
        buckets = await bucket_store.load_buckets(
            session, tenant_id, [account_id], plan_metrics(plan), config.unit,
            first_period(moment, config),
        )  # fmt: skip
        stakeholders = await store.stakeholders(session, tenant_id, account_id, plan)
        signals = await signal_store.signals_of(session, tenant_id, account_id)
    state = AccountState(account_id, plan, stakeholders, buckets.get(account_id, {}))
    spans = [span for row in signals if (span := _span(row)) is not None]
    return health_history(
        state, spans, moment, config, through=progress.judged_through, periods=periods
    )


def _span(row: SignalRow) -> SignalSpan | None:
    opened = _event_time(row.evidence) or row.raised_at
    if row.resolved_at is None:
        return SignalSpan(SignalType(row.signal_type), opened, None)
    closed = _event_time(row.resolution or {}) or row.resolved_at
    return SignalSpan(SignalType(row.signal_type), opened, closed)


def _event_time(evidence: dict[str, Any]) -> datetime | None:
    as_of = evidence.get("as_of")
    try:
        return datetime.fromisoformat(as_of) if isinstance(as_of, str) else None
    except ValueError:
        return None


async def list_accounts(
    sessions: Sessions, tenant_id: str, *, limit: int, offset: int
) -> tuple[list[tuple[AccountRow, float | None, int]], int]:
    """A page of the tenant's accounts with health and open signal counts."""
    async with sessions() as session:
        return await signal_store.list_accounts(session, tenant_id, limit=limit, offset=offset)


@dataclass(frozen=True)
class CohortAnalysis:
    """A cohort's pooled effects and the ideal itinerary they support."""

    trait: str
    value: str
    accounts: int
    pooled: tuple[PooledEffect, ...]
    itinerary: tuple[ItineraryStep, ...]


async def cohort_itinerary(
    sessions: Sessions,
    tenant_id: str,
    trait: str,
    value: str,
    settings: CorrelationSettings,
    *,
    now: datetime | None = None,
) -> CohortAnalysis:
    """Random-effects pooled verdicts across the accounts whose ``trait`` equals ``value``."""
    moment = now or utc_now()
    config = evaluation_config(settings)
    async with sessions() as session:
        plans = await store.plans_with_trait(session, tenant_id, trait, value)
        metrics = {metric for plan in plans for metric in plan_metrics(plan)}
        buckets = await bucket_store.load_buckets(
            session,
            tenant_id,
            [plan.account_id for plan in plans],
            metrics,
            config.unit,
            first_period(moment, config),
        )
    verdicts_by_account = {}
    reached = []
    for plan in plans:
        state = AccountState(plan.account_id, plan, (), buckets.get(plan.account_id, {}))
        series = account_series(state, moment, config)
        verdicts_by_account[plan.account_id] = plan_verdicts(plan, series, config)
        for objective in plan.objectives:
            latest = series[objective.metric].latest() if objective.metric in series else None
            if latest is not None and objective.is_met_by(latest[1]):
                reached.append(plan.account_id)
                break
    pooled = pool_cohort(
        verdicts_by_account,
        min_accounts=settings.cohort_min_accounts,
        cohort_alpha=settings.cohort_alpha,
    )
    return CohortAnalysis(trait, value, len(plans), pooled, ideal_itinerary(pooled, plans, reached))
