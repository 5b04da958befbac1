"""Use cases of the equivalents service, shared by the API and the consumer.

Each function opens its own session (one transaction for writes), loads what the pure domain
needs, calls it and saves the result. Domain errors (``EquivalentsError``) propagate; the app
maps them to 422 once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.equivalents import roi, store, usage
from services.equivalents.account_value import account_value as value_of
from services.equivalents.account_value import combine_units
from services.equivalents.catalog import Catalog, Entry, overlay, validate_entry
from services.equivalents.catalog_cache import Cached, TenantCatalogs
from services.equivalents.compiled import Converter
from services.equivalents.conversions import ConversionRequest
from services.equivalents.digests import DigestPreferences
from services.equivalents.errors import InvalidParameter
from services.equivalents.parameters import resolve_parameters
from services.equivalents.schemas import (
    AccountRoiOut,
    AccountValueOut,
    CatalogOut,
    ConvertIn,
    ConvertOut,
    EntryIn,
    EntryOut,
    EquivalentOut,
    MetricTotalOut,
    ResolvedParameter,
    RoiIn,
    RoiOut,
    ScenarioOut,
    SettingsIn,
    SettingsOut,
    UnconvertedOut,
)
from services.equivalents.store import TenantSettings
from shared.digests import ValueDigest
from shared.erasure import ERASED, ErasureRequest, ErasureScope
from shared.erasure_runner import suppression
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events import Envelope
from shared.tenancy import Tenant

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


# --- Catalog -------------------------------------------------------------------------------


async def get_catalog(context: Context, tenant: Tenant) -> CatalogOut:
    """Shipped entries merged with the tenant's, each saying where it comes from."""
    async with context.sessions() as session:
        entries = await store.tenant_entries(session, tenant.id)
    own = {entry.id for entry in entries}
    catalog = overlay(context.shipped, entries)
    return CatalogOut(
        version=catalog.version,
        measures=catalog.measures,
        parameters=catalog.parameters,
        entries=[
            EntryOut.of(entry, tenant_defined=entry.id in own, shipped_ids=context.shipped_ids)
            for entry in catalog.entries
        ],
    )


async def get_entry(context: Context, tenant: Tenant, entry_id: str) -> EntryOut:
    """One entry of the tenant's catalog (its own, or shipped); 404 when it has none."""
    catalog = await get_catalog(context, tenant)
    for entry in catalog.entries:
        if entry.id == entry_id:
            return entry
    raise NotFound(f"no catalog entry {entry_id!r}", field="entry_id")


async def create_entry(context: Context, tenant: Tenant, body: EntryIn) -> EntryOut:
    """Add a tenant entry; an id the tenant already sees (its own or shipped) is a conflict."""
    if body.id is None:
        raise Unprocessable("id: required when creating an entry", field="id")
    if body.id in context.shipped_ids:
        raise Conflict(
            f"{body.id!r} is a shipped entry; PUT /v1/equivalents/catalog/{body.id} "
            "overrides it for your tenant",
            field="id",
        )
    async with context.sessions.begin() as session:
        entry = await _checked_entry(context, session, tenant, body, body.id)
        if not await store.insert_entry(session, tenant.id, entry):
            raise Conflict(f"entry {body.id!r} exists; PUT replaces it", field="id")
    context.catalogs.changed(tenant.id)
    return EntryOut.of(entry, tenant_defined=True, shipped_ids=context.shipped_ids)


async def put_entry(
    context: Context, tenant: Tenant, entry_id: str, body: EntryIn
) -> tuple[EntryOut, bool]:
    """Create or replace a tenant entry (a shipped id is overridden for this tenant only)."""
    if body.id is not None and body.id != entry_id:
        raise Unprocessable(f"id: {body.id!r} differs from the path's {entry_id!r}", field="id")
    async with context.sessions.begin() as session:
        entry = await _checked_entry(context, session, tenant, body, entry_id)
        created = not await store.has_entry(session, tenant.id, entry_id)
        await store.upsert_entry(session, tenant.id, entry)
    context.catalogs.changed(tenant.id)
    return EntryOut.of(entry, tenant_defined=True, shipped_ids=context.shipped_ids), created


async def _checked_entry(
    context: Context, session: AsyncSession, tenant: Tenant, body: EntryIn, entry_id: str
) -> Entry:
    """The entry of ``body``, validated against the tenant's catalog with it merged in."""
    entry = body.to_entry(entry_id)
    validate_entry(entry, overlay(await catalog_of(context, session, tenant.id), [entry]))
    return entry


async def delete_entry(context: Context, tenant: Tenant, entry_id: str) -> None:
    """Delete a tenant entry; shipped entries cannot be deleted, only overridden."""
    async with context.sessions.begin() as session:
        deleted = await store.delete_entry(session, tenant.id, entry_id)
    if deleted:
        context.catalogs.changed(tenant.id)
        return
    if entry_id in context.shipped_ids:
        raise Conflict(
            f"{entry_id!r} is a shipped entry and cannot be deleted; "
            "PUT an entry with this id to override it for your tenant",
            field="id",
            code="shipped_entry",
        )
    raise NotFound(f"no tenant entry {entry_id!r}", field="id")


# --- Parameters ----------------------------------------------------------------------------


async def get_settings(context: Context, tenant: Tenant) -> SettingsOut:
    """The tenant's parameters as set, and every parameter as conversions will use it."""
    async with context.sessions() as session:
        catalog = await catalog_of(context, session, tenant.id)
        settings = await store.tenant_settings(session, tenant.id)
    return _settings_out(catalog, settings)


async def put_settings(context: Context, tenant: Tenant, body: SettingsIn) -> SettingsOut:
    """Replace the tenant's parameters and modes after checking them like request params."""
    async with context.sessions.begin() as session:
        catalog = await catalog_of(context, session, tenant.id)
        resolve_parameters(catalog, {}, body.params)
        modes = sorted({e.mode for e in catalog.entries if e.mode is not None})
        for metric, mode in body.modes.items():
            if mode not in modes:
                raise InvalidParameter(f"modes.{metric}", f"unknown mode {mode!r}; one of {modes}")
        digest = body.digest or DigestPreferences()
        for index, entry_id in enumerate(digest.equivalents or ()):
            if catalog.entry(entry_id) is None:
                raise InvalidParameter(f"digest.equivalents[{index}]", f"no entry {entry_id!r}")
        settings = TenantSettings(
            dict(body.params), dict(body.modes), digest.model_dump(mode="json")
        )
        await store.put_settings(session, tenant.id, settings)
    context.catalogs.changed(tenant.id)
    return _settings_out(catalog, settings)


def _settings_out(catalog: Catalog, settings: TenantSettings) -> SettingsOut:
    resolved = resolve_parameters(catalog, settings.params, {})
    return SettingsOut(
        params=settings.params,
        modes=settings.modes,
        digest=DigestPreferences.model_validate(settings.digest or {}),
        resolved=[
            ResolvedParameter(
                name=name,
                label=catalog.parameters[name].label,
                value=value.value,
                unit=value.unit,
                origin=value.origin,
                source=value.source,
            )
            for name, value in sorted(resolved.items())
        ],
    )


# --- Conversions ---------------------------------------------------------------------------


async def convert(context: Context, tenant: Tenant, body: ConvertIn) -> ConvertOut:
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
    return ConvertOut(
        quantity=body.quantity,
        unit=body.unit,
        metric=body.metric,
        mode=mode,
        equivalents=[EquivalentOut.of(e) for e in equivalents],
    )


# --- Account value -------------------------------------------------------------------------


def check_period(first: date, last: date) -> None:
    """A period runs forward and is not absurdly long."""
    if first > last:
        raise Unprocessable(f"from: {first} is after to {last}", field="from")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise Unprocessable(
            f"from: the period may span at most {MAX_PERIOD_DAYS} days", field="from"
        )


async def account_value(
    context: Context, tenant: Tenant, account_id: str, first: date, last: date
) -> AccountValueOut:
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
    every = [EquivalentOut.of(e, m.metric) for m in value.by_metric for e in m.equivalents]
    return AccountValueOut(
        account_id=account_id,
        period_from=first,
        period_to=last,
        totals=[
            MetricTotalOut(metric=t.metric, unit=t.unit, total=t.total, events=events)
            for t, events in rows
        ],
        action=[e for e in every if e.kind == "action"],
        feel_good=[e for e in every if e.kind == "feel_good"],
        unconverted=[
            UnconvertedOut(metric=u.metric, field=u.field, reason=u.reason)
            for u in (*combined.unconverted, *value.unconverted)
        ],
        active_people=people,
        seats=seats,
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


def forecast_roi(body: RoiIn) -> RoiOut:
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
    return RoiOut(
        scenarios=[ScenarioOut.of(s) for s in roi.forecast(case, scenarios)],
        conventions=roi.CONVENTIONS,
    )


async def account_roi(
    context: Context, tenant: Tenant, account_id: str, case: roi.BusinessCase, today: date
) -> AccountRoiOut:
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
    return AccountRoiOut(
        account_id=account_id,
        active_people=people,
        seats=seats,
        observed_adoption=adoption,
        window_from=first,
        window_to=today,
        scenarios=[ScenarioOut.of(roi.forecast_scenario(case, scenario))],
        conventions=roi.CONVENTIONS,
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
