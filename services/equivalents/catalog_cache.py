"""This instance's copies of tenant catalogs, and when they may be trusted.

A copy is served only while change notices reach the instance (``trust``): a notice drops the
tenant's copy (``changed``); losing the notices drops every copy and stops caching until they
flow again (``distrust``). A load that started before a notice arrived is not kept, since it
may have read the catalog from before the change: ``epoch`` is taken before loading and handed
back to ``keep``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache

T = TypeVar("T")

TENANTS_CACHED = 10_000


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A tenant's loaded catalog; ``generation`` differs between any two loads, ``kept`` says
    whether later requests will be served this same load (what may be compiled for it)."""

    generation: int
    value: T
    kept: bool


class TenantCatalogs(Generic[T]):
    """Loaded tenant catalogs, the least recently used dropped first."""

    def __init__(self, max_tenants: int = TENANTS_CACHED) -> None:
        self._copies: LRUCache[str, Cached[T]] = LRUCache(max_tenants)
        self._epoch = 0
        self._trusted = False
        self._generations = itertools.count(1)

    @property
    def trusted(self) -> bool:
        return self._trusted

    @property
    def epoch(self) -> int:
        """Take before loading a tenant's catalog; ``keep`` refuses the load if it moved."""
        return self._epoch

    def get(self, tenant_id: str) -> Cached[T] | None:
        """The tenant's copy, when one is kept and copies are trusted."""
        return self._copies.get(tenant_id) if self._trusted else None

    def keep(self, tenant_id: str, value: T, epoch: int) -> Cached[T]:
        """Wrap a load; keep it unless a change notice (or a loss of notices) came after
        ``epoch`` was taken."""
        kept = self._trusted and epoch == self._epoch
        cached = Cached(next(self._generations), value, kept)
        if kept:
            self._copies[tenant_id] = cached
        return cached

    def changed(self, tenant_id: str) -> None:
        """A change notice: the tenant's copy is stale, and so is any load under way."""
        self._epoch += 1
        self._copies.pop(tenant_id, None)

    def trust(self) -> None:
        """Notices flow (from now on): start caching, from nothing."""
        self._forget()
        self._trusted = True

    def distrust(self) -> None:
        """Notices may have been missed: forget every copy and cache nothing for now."""
        self._forget()
        self._trusted = False

    def _forget(self) -> None:
        self._epoch += 1
        self._copies.clear()
