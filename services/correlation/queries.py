"""The API's read use cases: an account, its people, plan, signals, health and analyses.

Each reads in one session and returns domain types; ``api.py`` turns them into responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation import bucket_store, progress_store, signal_store, store
from services.correlation.cohorts import ItineraryStep, PooledEffect, ideal_itinerary, pool_cohort
from services.correlation.correlations import PairCorrelation, correlate_plan
from services.correlation.errors import AccountNotFound, HealthNotFound, PlanNotFound
from services.correlation.evaluation import (
    AccountState,
    account_series,
    first_period,
    plan_metrics,
)
from services.correlation.event_time import Progress
from services.correlation.health_history import SignalSpan, health_history
from services.correlation.itinerary import plan_verdicts
from services.correlation.leadlag import LeadLag
from services.correlation.plans import SuccessPlan
from services.correlation.records import Account, HealthSnapshot, Person, Signal
from services.correlation.settings import CorrelationSettings
from services.correlation.tables import SignalRow
from shared.clock import utc_now
from shared.signals import SignalState, SignalType

Sessions = async_sessionmaker[AsyncSession]


async def get_plan(sessions: Sessions, tenant_id: str, account_id: str) -> SuccessPlan:
    """The account's plan; 404 for an unknown account or one without a plan."""
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
        plan = await store.get_plan(session, tenant_id, account_id)
    if plan is None:
        raise PlanNotFound(f"account {account_id!r} has no success plan", field="account_id")
    return plan


async def require_account(session: AsyncSession, tenant_id: str, account_id: str) -> None:
    """404 unless the tenant has the account."""
    if not await store.account_exists(session, tenant_id, account_id):
        raise AccountNotFound(f"no account {account_id!r}", field="account_id")


@dataclass(frozen=True)
class AccountDetail:
    """One account as a CSM tool shows it."""

    account: Account
    progress: Progress
    health: HealthSnapshot | None
    open_signals: dict[str, int]
    plan: SuccessPlan | None


async def get_account(sessions: Sessions, tenant_id: str, account_id: str) -> AccountDetail:
    """The account's traits, health, open signal counts and plan; 404 when unknown."""
    async with sessions() as session:
        account = await store.get_account(session, tenant_id, account_id)
        if account is None:
            raise AccountNotFound(f"no account {account_id!r}", field="account_id")
        health = await signal_store.get_health(session, tenant_id, account_id)
        return AccountDetail(
            account=Account.of(account),
            progress=(await progress_store.progress_of(session, tenant_id, [account_id]))[
                account_id
            ],
            health=HealthSnapshot.of(health) if health is not None else None,
            open_signals=await store.open_signal_counts(session, tenant_id, account_id),
            plan=await store.get_plan(session, tenant_id, account_id),
        )


async def list_people(
    sessions: Sessions, tenant_id: str, account_id: str
) -> tuple[list[Person], SuccessPlan | None]:
    """The account's people and its plan (which names the sponsor and adoption owner)."""
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
        people = await store.people_of(session, tenant_id, account_id)
        return [Person.of(row) for row in people], await store.get_plan(
            session, tenant_id, account_id
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
    config = settings.evaluation
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
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
) -> list[Signal]:
    """The account's signals, optionally only open or resolved ones."""
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
        rows = await signal_store.signals_of(session, tenant_id, account_id, state)
    return [Signal.of(row) for row in rows]


async def get_health(
    sessions: Sessions, tenant_id: str, account_id: str
) -> tuple[HealthSnapshot, list[Signal], Progress]:
    """The latest health snapshot, the open signals behind it and the account's progress."""
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
        snapshot = await signal_store.get_health(session, tenant_id, account_id)
        if snapshot is None:
            raise HealthNotFound(f"account {account_id!r} has not been evaluated yet")
        signals = await signal_store.signals_of(session, tenant_id, account_id, SignalState.OPEN)
        progress = (await progress_store.progress_of(session, tenant_id, [account_id]))[account_id]
    return HealthSnapshot.of(snapshot), [Signal.of(row) for row in signals], progress


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
    config = settings.evaluation
    async with sessions() as session:
        await require_account(session, tenant_id, account_id)
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
) -> tuple[list[tuple[Account, float | None, int]], int]:
    """A page of the tenant's accounts with health and open signal counts."""
    async with sessions() as session:
        rows, total = await signal_store.list_accounts(
            session, tenant_id, limit=limit, offset=offset
        )
    return [(Account.of(row), score, count) for row, score, count in rows], total


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
    config = settings.evaluation
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
