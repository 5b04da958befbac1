"""Routes of the equivalents API: parse, call a handler, answer with a response model."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from services.equivalents import catalog_edits, handlers, roi
from services.equivalents.catalog_schemas import (
    CatalogOut,
    EntryIn,
    EntryOut,
    SettingsIn,
    SettingsOut,
)
from services.equivalents.handlers import Context
from services.equivalents.schemas import (
    MAX_AMOUNT,
    AccountRoiOut,
    AccountValueOut,
    ConvertIn,
    ConvertOut,
    DigestsOut,
    RoiIn,
    RoiOut,
)
from shared.clock import utc_now
from shared.errors import Conflict
from shared.idempotent_requests import IdempotencyKey, answer_once
from shared.openapi import errors
from shared.tenancy.auth import SecretTenant

DEFAULT_PERIOD_DAYS = 30
DIGEST_PERIOD_DAYS = 366


# Async dependencies run on the event loop; sync ones would each cost a thread-pool hop.
async def _context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


def _today() -> date:
    return utc_now().date()


ContextDep = Annotated[Context, Depends(_context)]
EntryId = Annotated[str, Path(min_length=1, max_length=100)]
AccountId = Annotated[str, Path(min_length=1, max_length=200)]

router = APIRouter()


@router.get("/v1/equivalents/catalog", tags=["catalog"])
async def get_catalog(tenant: SecretTenant, context: ContextDep) -> CatalogOut:
    """Shipped entries merged with the tenant's, with formula, kind, source and origin."""
    return CatalogOut.of(await catalog_edits.get_catalog(context, tenant))


@router.post(
    "/v1/equivalents/catalog",
    status_code=201,
    tags=["catalog"],
    response_model=EntryOut,
    responses=errors(Conflict),
)
async def create_entry(
    body: EntryIn, tenant: SecretTenant, context: ContextDep, idempotency_key: IdempotencyKey = None
) -> Response:
    """Add a tenant entry (409 when the id exists; PUT overrides a shipped id). A retry with
    the same ``Idempotency-Key`` and body gets the first answer."""

    async def create() -> tuple[int, object]:
        entry = await catalog_edits.create_entry(context, tenant, body)
        return 201, EntryOut.of(entry).model_dump(mode="json")

    status_code, answer = await answer_once(
        context.sessions,
        tenant_id=tenant.id,
        key=idempotency_key,
        route="POST /v1/equivalents/catalog",
        body=body.model_dump(mode="json"),
        now=utc_now(),
        run=create,
    )
    return JSONResponse(answer, status_code=status_code)


@router.get("/v1/equivalents/catalog/{entry_id}", tags=["catalog"])
async def get_entry(entry_id: EntryId, tenant: SecretTenant, context: ContextDep) -> EntryOut:
    """One catalog entry as it converts for this tenant; it can be PUT back unchanged."""
    return EntryOut.of(await catalog_edits.get_entry(context, tenant, entry_id))


@router.put("/v1/equivalents/catalog/{entry_id}", tags=["catalog"])
async def put_entry(
    entry_id: EntryId, body: EntryIn, tenant: SecretTenant, context: ContextDep, response: Response
) -> EntryOut:
    """Create (201) or replace (200) a tenant entry; a shipped id is overridden for this tenant."""
    entry, created = await catalog_edits.put_entry(context, tenant, entry_id, body)
    response.status_code = 201 if created else 200
    return EntryOut.of(entry)


@router.delete("/v1/equivalents/catalog/{entry_id}", status_code=204, tags=["catalog"])
async def delete_entry(entry_id: EntryId, tenant: SecretTenant, context: ContextDep) -> Response:
    """Delete a tenant entry; a shipped entry answers 409 (override it with PUT instead)."""
    await catalog_edits.delete_entry(context, tenant, entry_id)
    return Response(status_code=204)


@router.get("/v1/equivalents/parameters", tags=["parameters"])
async def get_parameters(tenant: SecretTenant, context: ContextDep) -> SettingsOut:
    """The tenant's parameters and modes, and every parameter's value in use."""
    return SettingsOut.of(await catalog_edits.get_settings(context, tenant))


@router.put("/v1/equivalents/parameters", tags=["parameters"])
async def put_parameters(
    body: SettingsIn, tenant: SecretTenant, context: ContextDep
) -> SettingsOut:
    """Replace the tenant's parameters and modes."""
    return SettingsOut.of(await catalog_edits.put_settings(context, tenant, body))


@router.post("/v1/equivalents/convert", tags=["conversions"])
async def convert(body: ConvertIn, tenant: SecretTenant, context: ContextDep) -> ConvertOut:
    """Every applicable equivalent of a quantity, each with its trace and sources."""
    return ConvertOut.of(body, await handlers.convert(context, tenant, body))


@router.get("/v1/accounts/{account_id}/value", tags=["accounts"])
async def account_value(
    account_id: AccountId,
    tenant: SecretTenant,
    context: ContextDep,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
) -> AccountValueOut:
    """Usage totals of ``from..to`` (inclusive; default the last 30 days) and equivalents."""
    last = period_to or _today()
    first = period_from or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    return AccountValueOut.of(
        await handlers.account_value(context, tenant, account_id, first, last)
    )


@router.get("/v1/accounts/{account_id}/digests", tags=["accounts"])
async def account_digests(
    account_id: AccountId,
    tenant: SecretTenant,
    context: ContextDep,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
) -> DigestsOut:
    """The value digests whose period starts within ``from..to`` (inclusive; default the last
    year), as they were pushed."""
    last = period_to or _today()
    first = period_from or last - timedelta(days=DIGEST_PERIOD_DAYS - 1)
    digests = await handlers.list_digests(context, tenant, account_id, first, last)
    return DigestsOut(account_id=account_id, digests=digests)


@router.post("/v1/forecasts/roi", tags=["forecasts"])
async def forecast_roi(body: RoiIn, _tenant: SecretTenant) -> RoiOut:
    """A business case weighted by effective adoption, per scenario."""
    return RoiOut.of(handlers.forecast_roi(body))


@router.get("/v1/accounts/{account_id}/roi", tags=["forecasts", "accounts"])
async def account_roi(
    account_id: AccountId,
    tenant: SecretTenant,
    context: ContextDep,
    annual_benefit: Annotated[float, Query(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)],
    one_off_costs: Annotated[float, Query(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)] = 0.0,
    yearly_costs: Annotated[float, Query(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)] = 0.0,
    years: Annotated[int, Query(ge=1, le=50)] = 3,
    discount_rate: Annotated[float, Query(ge=-0.99, le=10, allow_inf_nan=False)] = 0.08,
) -> AccountRoiOut:
    """The business case at the account's observed adoption (active people / licensed seats)."""
    case = roi.BusinessCase(
        annual_benefit_at_full_adoption=annual_benefit,
        one_off_costs=one_off_costs,
        years=years,
        discount_rate=discount_rate,
        yearly_costs={"yearly_costs": yearly_costs},
    )
    return AccountRoiOut.of_account(
        await handlers.account_roi(context, tenant, account_id, case, _today())
    )
