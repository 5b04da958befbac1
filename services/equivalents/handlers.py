"""Use cases of the equivalents service, shared by the API and the consumer.

Each function opens its own session (one transaction for writes), loads what the pure domain
needs, calls it and saves the result. Domain errors (``EquivalentsError``) propagate; the app
maps them to 422 once. Edits of a tenant's catalog and parameters are in ``catalog_edits``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents import roi, store, usage
from services.equivalents.account_value import (
    AccountValue,
    MetricTotal,
    Unconverted,
    combine_units,
)
from services.equivalents.account_value import account_value as value_of
from services.equivalents.catalog import Catalog, overlay
from services.equivalents.catalog_cache import Cached, TenantCatalogs
from services.equivalents.compiled import Converter
from services.equivalents.conversions import ConversionRequest, Equivalent
from services.equivalents.schemas import ConvertIn, RoiIn
from services.equivalents.store import TenantSettings
from shared.digests import ValueDigest
from shared.erasure import ERASED, ErasureRequest, ErasureScope
from shared.erasure_runner import suppression
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import Envelope
from shared.tenancy.keys import Tenant

ADOPTION_WINDOW_DAYS = 30
MAX_PERIOD_DAYS = 3660


@dataclass(frozen=True)
class TenantCatalog:
    """A tenant's catalog (shipped entries with its own merged over them) and settings."""

    catalog: Catalog
    settings: TenantSettings


@dataclass(frozen=True)
class Context:
    """What every use case needs: the session factory, the shipped catalog (immutable), and this
    instance's caches: tenant catalogs (kept current by change notices, ``catalog_notices``)
    and the conversions compiled from them."""

    sessions: async_sessionmaker[AsyncSession]
    shipped: Catalog
    catalogs: TenantCatalogs[TenantCatalog] = field(default_factory=TenantCatalogs)
    converter: Converter = field(default_factory=Converter)

    @property
    def shipped_ids(self) -> set[str]:
        return {entry.id for entry in self.shipped.entries}


async def catalog_of(context: Context, session: AsyncSession, tenant_id: str) -> Catalog:
    """The shipped catalog with the tenant's entries (validated when stored) merged over it."""
    entries = await store.tenant_entries(session, tenant_id)
    return overlay(context.shipped, entries) if entries else context.shipped


async def _tenant_catalog(context: Context, tenant_id: str) -> Cached[TenantCatalog]:
    """The tenant's catalog and settings: the cached copy, or loaded (and kept if it may be)."""
    cached = context.catalogs.get(tenant_id)
    if cached is not None:
        return cached
    epoch = context.catalogs.epoch
    async with context.sessions() as session:
        loaded = TenantCatalog(
            await catalog_of(context, session, tenant_id),
            await store.tenant_settings(session, tenant_id),
        )
    return context.catalogs.keep(tenant_id, loaded, epoch)


# --- Conversions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    """A quantity's equivalents, and the mode they were converted in."""

    mode: str | None
    equivalents: tuple[Equivalent, ...]


async def convert(context: Context, tenant: Tenant, body: ConvertIn) -> Conversion:
    """Every applicable equivalent of a quantity, through the tenant's catalog and parameters."""
    cached = await _tenant_catalog(context, tenant.id)
    settings = cached.value.settings
    mode = body.mode or (settings.modes.get(body.metric) if body.metric else None)
    request = ConversionRequest(
        quantity=body.quantity,
        unit=body.unit,
        metric=body.metric,
        mode=mode,
        targets=tuple(body.targets) if body.targets is not None else None,
        params=body.params,
    )
    equivalents = context.converter.convert(
        request,
        cached.value.catalog,
        settings.params,
        catalog_key=(tenant.id, cached.generation) if cached.kept else None,
    )
    return Conversion(mode, equivalents)


# --- Account value -------------------------------------------------------------------------


def check_period(first: date, last: date) -> None:
    """A period runs forward and is not absurdly long."""
    if first > last:
        raise Unprocessable(f"from: {first} is after to {last}", field="from")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise Unprocessable(
            f"from: the period may span at most {MAX_PERIOD_DAYS} days", field="from"
        )


@dataclass(frozen=True)
class AccountValueReport:
    """An account's usage over ``first..last``: each metric's totals (with how many events
    made them), their equivalents, what could not be converted, and the people active."""

    account_id: str
    first: date
    last: date
    totals: tuple[tuple[MetricTotal, int], ...]
    value: AccountValue
    unconverted: tuple[Unconverted, ...]
    active_people: int
    seats: int | None


async def account_value(
    context: Context, tenant: Tenant, account_id: str, first: date, last: date
) -> AccountValueReport:
    """The account's usage totals over ``first..last`` (inclusive) and their equivalents."""
    check_period(first, last)
    async with context.sessions() as session:
        if not await store.account_known(session, tenant.id, account_id):
            raise NotFound(f"no usage or seats for account {account_id!r}", field="account_id")
        rows = await store.period_totals(session, tenant.id, account_id, first, last)
        people = await store.active_people(session, tenant.id, account_id, first, last)
        seats = await store.account_seats(session, tenant.id, account_id)
    combined = combine_units(total for total, _ in rows)
    current = (await _tenant_catalog(context, tenant.id)).value
    catalog, settings = current.catalog, current.settings
    value = value_of(combined.totals, catalog, settings.params, settings.modes, combined.units)
    return AccountValueReport(
        account_id,
        first,
        last,
        tuple(rows),
        value,
        (*combined.unconverted, *value.unconverted),
        people,
        seats,
    )


# --- Value digests -------------------------------------------------------------------------


async def list_digests(
    context: Context, tenant: Tenant, account_id: str, first: date, last: date
) -> list[ValueDigest]:
    """The account's digests whose period starts within ``first..last``."""
    check_period(first, last)
    async with context.sessions() as session:
        rows = await store.digests_of(session, tenant.id, account_id, first, last)
    return [ValueDigest.model_validate(row.body) for row in rows]


# --- ROI -----------------------------------------------------------------------------------


def forecast_roi(body: RoiIn) -> tuple[roi.ScenarioForecast, ...]:
    """Forecast a business case at constant adoption rates or along a yearly adoption curve."""
    if (body.adoption_rates is None) == (body.adoption_curve is None):
        raise Unprocessable(
            "adoption_rates: give exactly one of adoption_rates or adoption_curve",
            field="adoption_rates",
        )
    if body.adoption_curve is not None and len(body.adoption_curve) != body.years:
        raise Unprocessable(
            f"adoption_curve: needs one rate per year ({body.years})", field="adoption_curve"
        )
    case = roi.BusinessCase(
        annual_benefit_at_full_adoption=body.annual_benefit_at_full_adoption,
        one_off_costs=body.one_off_costs,
        years=body.years,
        discount_rate=body.discount_rate,
        yearly_costs=body.yearly_costs,
    )
    scenarios = (
        roi.constant_scenarios(body.adoption_rates, body.years)
        if body.adoption_rates is not None
        else (roi.AdoptionScenario("curve", tuple(body.adoption_curve or ())),)
    )
    return roi.forecast(case, scenarios)


@dataclass(frozen=True)
class ObservedRoi:
    """A business case forecast at an account's adoption over a window of recent days."""

    account_id: str
    active_people: int
    seats: int
    adoption: float
    first: date
    last: date
    forecast: roi.ScenarioForecast


async def account_roi(
    context: Context, tenant: Tenant, account_id: str, case: roi.BusinessCase, today: date
) -> ObservedRoi:
    """Forecast ``case`` at the account's observed adoption over the last 30 days."""
    first = today - timedelta(days=ADOPTION_WINDOW_DAYS - 1)
    async with context.sessions() as session:
        if not await store.account_known(session, tenant.id, account_id):
            raise NotFound(f"no usage or seats for account {account_id!r}", field="account_id")
        people = await store.active_people(session, tenant.id, account_id, first, today)
        seats = await store.account_seats(session, tenant.id, account_id)
    adoption = roi.observed_adoption(people, seats)
    if seats is None or adoption is None:
        raise Conflict(
            f"licensed seats of account {account_id!r} are unknown: send an "
            "account.identified lifecycle event with properties.seats",
            field="seats",
            code="seats_unknown",
        )
    scenario = roi.AdoptionScenario(f"observed {adoption:.0%}", (adoption,) * case.years)
    return ObservedRoi(
        account_id, people, seats, adoption, first, today, roi.forecast_scenario(case, scenario)
    )


# --- Consumer ------------------------------------------------------------------------------


async def record_events(
    sessions: async_sessionmaker[AsyncSession], events: Sequence[Envelope]
) -> int:
    """Count a batch of events once each, in one transaction; returns how many were new.

    The processed-event ids are written in the same transaction as the totals, so an event
    redelivered after a crash (or published twice) is skipped.
    """
    candidates = usage.unique(events)
    if not candidates:
        return 0
    async with sessions.begin() as session:
        # Events of an erased tenant or person, still in flight when it was erased, are dropped.
        suppressed = await suppression(session, {e.tenant_id for e in candidates})
        if suppressed:
            candidates = [e for e in candidates if not suppressed.drops(e.tenant_id, e.person_id)]
        fresh = await store.claim_events(session, [(e.tenant_id, e.id) for e in candidates])
        new = [e for e in candidates if (e.tenant_id, e.id) in fresh]
        await store.add_daily_totals(session, usage.daily_totals(new))
        await store.add_active_people(session, usage.active_people(new))
        await store.set_seats(session, usage.seats_updates(new))
    return len(new)


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A tenant's every row; or a person made a pseudonym on the days they were active (their
    usage stays in the account's totals, which name no one)."""
    if request.scope is ErasureScope.TENANT:
        await store.erase_tenant(session, request.tenant_id)
    elif request.person_id is not None:
        pseudonym = f"{ERASED}:{request.id}"
        await store.pseudonymise_person(session, request.tenant_id, request.person_id, pseudonym)
