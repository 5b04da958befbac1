"""The API's use cases on a tenant's catalog and parameters: read them, add, replace or delete
entries, set parameters and modes. Every change is checked against the catalog it lands in and
drops this instance's cached copy (other instances hear of it through ``catalog_notices``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.equivalents import store
from services.equivalents.catalog import Catalog, Entry, overlay, validate_entry
from services.equivalents.digests import DigestPreferences
from services.equivalents.errors import InvalidParameter
from services.equivalents.handlers import Context, catalog_of
from services.equivalents.parameters import resolve_parameters
from services.equivalents.schemas import (
    CatalogOut,
    EntryIn,
    EntryOut,
    ResolvedParameter,
    SettingsIn,
    SettingsOut,
)
from services.equivalents.store import TenantSettings
from shared.errors import Conflict, NotFound, Unprocessable
from shared.tenancy import Tenant


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
