"""Routes of the correlation API (tenant secret key): thin, parse -> handler -> response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.correlation import handlers, queries
from services.correlation.ampm_view import (
    ActivityOut,
    AmpmView,
    CorrelationOut,
    ObjectiveOut,
    VerdictOut,
)
from services.correlation.evaluation import projections
from services.correlation.plans import SuccessPlan
from services.correlation.schemas import (
    AccountDetailOut,
    AccountOut,
    AccountPage,
    CohortItineraryOut,
    HealthHistoryOut,
    HealthOut,
    HealthPoint,
    ItineraryStepOut,
    PeopleList,
    PooledOut,
    SignalList,
    SignalOut,
    SuccessPlanBody,
)
from shared.signals import SignalState
from shared.tenancy.auth import SecretTenant

router = APIRouter(prefix="/v1")

# Deeper pages than this are not a listing but a scan; it also keeps offsets in BIGINT range.
MAX_OFFSET = 1_000_000


def _context(request: Request) -> handlers.Context:
    context: handlers.Context = request.app.state.context
    return context


ContextDep = Annotated[handlers.Context, Depends(_context)]


@router.put("/accounts/{account_id}/success-plan", response_model=SuccessPlan, tags=["plans"])
async def put_success_plan(
    account_id: str, body: SuccessPlanBody, tenant: SecretTenant, context: ContextDep
) -> SuccessPlan:
    """Create or replace the account's success plan (the account is created if unknown)."""
    plan = await handlers.put_plan(
        context.sessions, tenant.id, account_id, body.as_plan_fields(), context.settings
    )
    context.wake_relay()
    return plan


@router.get("/accounts/{account_id}/success-plan", response_model=SuccessPlan, tags=["plans"])
async def get_success_plan(
    account_id: str, tenant: SecretTenant, context: ContextDep
) -> SuccessPlan:
    """The account's success plan."""
    return await queries.get_plan(context.sessions, tenant.id, account_id)


@router.delete(
    "/accounts/{account_id}/success-plan", status_code=204, response_class=Response, tags=["plans"]
)
async def delete_success_plan(
    account_id: str, tenant: SecretTenant, context: ContextDep
) -> Response:
    """Delete the account's success plan; its open signals (activities off track, objective at
    risk, no adoption owner) resolve, and the notifier hears they cleared."""
    await handlers.delete_plan(context.sessions, tenant.id, account_id, context.settings)
    context.wake_relay()
    return Response(status_code=204)


@router.get("/accounts/{account_id}", tags=["accounts"])
async def get_account(
    account_id: str, tenant: SecretTenant, context: ContextDep
) -> AccountDetailOut:
    """The account: traits and seats, health, open signals by type and GPS category, how far
    its data is judged, and a summary of its success plan."""
    detail = await queries.get_account(context.sessions, tenant.id, account_id)
    return AccountDetailOut.of(detail)


@router.get("/accounts/{account_id}/people", tags=["accounts"])
async def list_people(account_id: str, tenant: SecretTenant, context: ContextDep) -> PeopleList:
    """The account's people: role, status, title, supervisor, and the role the plan gives them
    (sponsor, adoption owner)."""
    rows, plan = await queries.list_people(context.sessions, tenant.id, account_id)
    return PeopleList.of(rows, plan)


@router.get("/accounts/{account_id}/ampm", tags=["plans"])
async def get_ampm(account_id: str, tenant: SecretTenant, context: ContextDep) -> AmpmView:
    """Activities against targets, objectives with projections, and the correlation table."""
    analysis = await queries.analyse_plan(context.sessions, tenant.id, account_id, context.settings)
    plan, series = analysis.plan, analysis.series
    projected = projections(plan, series, context.settings.thresholds)
    return AmpmView(
        account_id=account_id,
        plan_id=plan.id,
        period_unit=context.settings.period_unit,
        activities=[ActivityOut.of(a, series.get(a.metric)) for a in plan.itinerary],
        objectives=[
            ObjectiveOut.of(o, series.get(o.metric), projected.get(o.metric))
            for o in plan.objectives
        ],
        verdicts=[VerdictOut.of(pair) for pair in analysis.verdicts],
        correlations=[CorrelationOut.of(pair) for pair in analysis.pairs],
    )


@router.get("/accounts/{account_id}/signals", tags=["signals"])
async def get_signals(
    account_id: str,
    tenant: SecretTenant,
    context: ContextDep,
    state: Annotated[SignalState | None, Query()] = None,
) -> SignalList:
    """The account's signals, all or only ``open`` / ``resolved`` ones."""
    rows = await queries.list_signals(context.sessions, tenant.id, account_id, state)
    return SignalList(signals=[SignalOut.of(row) for row in rows])


@router.post("/accounts/{account_id}/signals/{signal_id}/acknowledge", tags=["signals"])
async def acknowledge_signal(
    account_id: str, signal_id: str, tenant: SecretTenant, context: ContextDep
) -> SignalOut:
    """Mark a signal as seen by a CSM; an acknowledged reorganisation resolves."""
    row = await handlers.acknowledge_signal(
        context.sessions, tenant.id, account_id, signal_id, context.settings
    )
    context.wake_relay()
    return SignalOut.of(row)


@router.get("/accounts/{account_id}/health", tags=["accounts"])
async def get_health(account_id: str, tenant: SecretTenant, context: ContextDep) -> HealthOut:
    """The latest health score, its components and what each contributes."""
    snapshot, signals, progress = await queries.get_health(context.sessions, tenant.id, account_id)
    return HealthOut.of(snapshot, signals, progress)


@router.get("/accounts/{account_id}/health/history", tags=["accounts"])
async def get_health_history(
    account_id: str,
    tenant: SecretTenant,
    context: ContextDep,
    periods: Annotated[int, Query(ge=1, le=52)] = 12,
) -> HealthHistoryOut:
    """The health score as of each of the last ``periods`` judged periods, oldest first: the
    series cut at each period's end, the signals open then, the people as they are now."""
    history = await queries.health_trend(
        context.sessions, tenant.id, account_id, context.settings, periods=periods
    )
    return HealthHistoryOut(
        account_id=account_id,
        periods=[HealthPoint(period=period, score=round(score, 2)) for period, score in history],
    )


@router.get("/accounts", tags=["accounts"])
async def list_accounts(
    tenant: SecretTenant,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AccountPage:
    """The tenant's accounts with health and open signal counts, by account id."""
    rows, total = await queries.list_accounts(
        context.sessions, tenant.id, limit=limit, offset=offset
    )
    return AccountPage(
        accounts=[AccountOut.of(row, score, count) for row, score, count in rows],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=offset + limit if offset + limit < total else None,
    )


@router.get("/cohorts/itinerary", tags=["cohorts"])
async def get_cohort_itinerary_by_trait(
    tenant: SecretTenant,
    context: ContextDep,
    trait: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
    value: Annotated[str, Query(min_length=1, max_length=500, pattern=r"^[^\x00]*$")],
) -> CohortItineraryOut:
    """Random-effects pooled verdicts over the accounts whose ``trait`` equals ``value``
    (any account trait: segment, persona, job to be done, plan...), and the ideal itinerary."""
    return await _cohort(context, tenant.id, trait, value)


@router.get("/cohorts/{segment}/itinerary", tags=["cohorts"])
async def get_cohort_itinerary(
    segment: str, tenant: SecretTenant, context: ContextDep
) -> CohortItineraryOut:
    """The cohort of one ``segment``: same as ``/cohorts/itinerary?trait=segment&value=...``."""
    return await _cohort(context, tenant.id, "segment", segment)


async def _cohort(
    context: handlers.Context, tenant_id: str, trait: str, value: str
) -> CohortItineraryOut:
    cohort = await queries.cohort_itinerary(
        context.sessions, tenant_id, trait, value, context.settings
    )
    return CohortItineraryOut(
        trait=cohort.trait,
        value=cohort.value,
        accounts=cohort.accounts,
        correlations=[PooledOut.of(p) for p in cohort.pooled],
        itinerary=[ItineraryStepOut.of(step) for step in cohort.itinerary],
    )
