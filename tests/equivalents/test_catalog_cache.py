"""When a cached tenant catalog may be served, and when a load may be kept."""

from __future__ import annotations

from services.equivalents.catalog_cache import TenantCatalogs


def test_nothing_is_cached_until_notices_flow() -> None:
    catalogs: TenantCatalogs[str] = TenantCatalogs()
    kept = catalogs.keep("t1", "v1", catalogs.epoch)
    assert not kept.kept and catalogs.get("t1") is None
    catalogs.trust()
    kept = catalogs.keep("t1", "v1", catalogs.epoch)
    assert kept.kept and catalogs.get("t1") == kept


def test_a_notice_drops_the_tenant_only() -> None:
    catalogs: TenantCatalogs[str] = TenantCatalogs()
    catalogs.trust()
    catalogs.keep("t1", "v1", catalogs.epoch)
    catalogs.keep("t2", "v2", catalogs.epoch)
    catalogs.changed("t1")
    assert catalogs.get("t1") is None
    cached = catalogs.get("t2")
    assert cached is not None and cached.value == "v2"


def test_a_load_overtaken_by_a_notice_is_served_once_but_not_kept() -> None:
    catalogs: TenantCatalogs[str] = TenantCatalogs()
    catalogs.trust()
    epoch = catalogs.epoch  # a load starts, reads the old catalog...
    catalogs.changed("t1")  # ...the change commits and its notice arrives...
    loaded = catalogs.keep("t1", "old", epoch)  # ...and the load finishes
    assert not loaded.kept and catalogs.get("t1") is None
    fresh = catalogs.keep("t1", "new", catalogs.epoch)
    assert fresh.kept and fresh.generation != loaded.generation


def test_losing_the_notices_forgets_everything_and_stops_caching() -> None:
    catalogs: TenantCatalogs[str] = TenantCatalogs()
    catalogs.trust()
    epoch = catalogs.epoch
    catalogs.keep("t1", "v1", epoch)
    catalogs.distrust()
    assert catalogs.get("t1") is None
    assert not catalogs.keep("t1", "v1", catalogs.epoch).kept
    catalogs.trust()
    assert catalogs.get("t1") is None
    assert not catalogs.keep("t2", "v2", epoch).kept  # a load from before the loss


def test_the_least_recently_used_tenant_is_dropped_first() -> None:
    catalogs: TenantCatalogs[str] = TenantCatalogs(max_tenants=2)
    catalogs.trust()
    for tenant in ("t1", "t2"):
        catalogs.keep(tenant, tenant, catalogs.epoch)
    assert catalogs.get("t1") is not None
    catalogs.keep("t3", "t3", catalogs.epoch)
    assert catalogs.get("t2") is None
    assert catalogs.get("t1") is not None and catalogs.get("t3") is not None
