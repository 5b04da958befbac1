"""The API's use cases on a tenant's catalog and parameters: read them, add, replace or delete
entries, set parameters and modes. Every change is checked against the catalog it lands in and
drops this instance's cached copy (other instances hear of it through ``catalog_notices``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.equivalents import store
from services.equivalents.catalog import Catalog, Entry, overlay, validate_entry
from services.equivalents.catalog_schemas import EntryIn, SettingsIn
from services.equivalents.digests import DigestPreferences
from services.equivalents.errors import InvalidParameter
from services.equivalents.handlers import Context, catalog_of
from services.equivalents.parameters import resolve_parameters
from services.equivalents.store import TenantSettings
from shared.errors import Conflict, NotFound, Unprocessable
from shared.tenancy.keys import Tenant


@dataclass(frozen=True)
class CatalogEntry:
    """An entry of a tenant's catalog and where it comes from."""

    entry: Entry
    tenant_defined: bool
    overrides_shipped: bool


@dataclass(frozen=True)
class TenantCatalogView:
    """The tenant's catalog (shipped entries with its own merged over them), entry by entry."""

    catalog: Catalog
    entries: tuple[CatalogEntry, ...]


@dataclass(frozen=True)
class TenantParameters:
    """The tenant's parameters and modes as set, read against its catalog."""

    catalog: Catalog
    settings: TenantSettings


def _entry(context: Context, entry: Entry, *, tenant_defined: bool) -> CatalogEntry:
    return CatalogEntry(entry, tenant_defined, tenant_defined and entry.id in context.shipped_ids)


async def get_catalog(context: Context, tenant: Tenant) -> TenantCatalogView:
    """Shipped entries merged with the tenant's, each saying where it comes from."""
    async with context.sessions() as session:
        entries = await store.tenant_entries(session, tenant.id)
    own = {entry.id for entry in entries}
    catalog = overlay(context.shipped, entries)
    return TenantCatalogView(
        catalog,
        tuple(_entry(context, entry, tenant_defined=entry.id in own) for entry in catalog.entries),
    )


async def get_entry(context: Context, tenant: Tenant, entry_id: str) -> CatalogEntry:
    """One entry of the tenant's catalog (its own, or shipped); 404 when it has none."""
    view = await get_catalog(context, tenant)
    for found in view.entries:
        if found.entry.id == entry_id:
            return found
    raise NotFound(f"no catalog entry {entry_id!r}", field="entry_id")


async def create_entry(context: Context, tenant: Tenant, body: EntryIn) -> CatalogEntry:
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
    return _entry(context, entry, tenant_defined=True)


async def put_entry(
    context: Context, tenant: Tenant, entry_id: str, body: EntryIn
) -> tuple[CatalogEntry, bool]:
    """Create or replace a tenant entry (a shipped id is overridden for this tenant only)."""
    if body.id is not None and body.id != entry_id:
        raise Unprocessable(f"id: {body.id!r} differs from the path's {entry_id!r}", field="id")
    async with context.sessions.begin() as session:
        entry = await _checked_entry(context, session, tenant, body, entry_id)
        created = not await store.has_entry(session, tenant.id, entry_id)
        await store.upsert_entry(session, tenant.id, entry)
    context.catalogs.changed(tenant.id)
    return _entry(context, entry, tenant_defined=True), created


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


async def get_settings(context: Context, tenant: Tenant) -> TenantParameters:
    """The tenant's parameters as set, and every parameter as conversions will use it."""
    async with context.sessions() as session:
        catalog = await catalog_of(context, session, tenant.id)
        settings = await store.tenant_settings(session, tenant.id)
    return TenantParameters(catalog, settings)


async def put_settings(context: Context, tenant: Tenant, body: SettingsIn) -> TenantParameters:
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
    return TenantParameters(catalog, settings)
