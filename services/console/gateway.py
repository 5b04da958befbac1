"""The other services' public APIs, called with the tenant's secret key: what the console sees
is what any integration sees, and another tenant's data is never within reach."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from services.console.errors import PageNotFound, ServicesUnavailable

log = structlog.get_logger(__name__)


class KeyRefused(Exception):
    """The service answered 401: the key is not (or no longer) a valid secret key."""


@dataclass(frozen=True)
class Gateway:
    """One HTTP client and the services' base URLs."""

    http: httpx.AsyncClient
    urls: dict[str, str]

    async def get(
        self, service: str, path: str, key: str, params: dict[str, Any] | None = None
    ) -> Any:
        """The JSON of ``GET {service}{path}``; None for a 404 of a resource the page may lack
        (no plan yet, never evaluated)."""
        response = await self._send("GET", service, path, key, params=params)
        if response.status_code == 404:
            return None
        return response.json()

    async def post(self, service: str, path: str, key: str, body: Any = None) -> Any:
        response = await self._send("POST", service, path, key, json=body)
        if response.status_code == 404:
            raise PageNotFound(f"{service} has no {path}")
        return response.json()

    async def _send(
        self, method: str, service: str, path: str, key: str, **kw: Any
    ) -> httpx.Response:
        try:
            response = await self.http.request(
                method,
                self.urls[service] + path,
                headers={"Authorization": f"Bearer {key}"},
                **kw,
            )
        except httpx.HTTPError as exc:
            log.warning("service_unreachable", service=service, path=path, error=repr(exc)[:200])
            raise ServicesUnavailable(f"the {service} service did not answer") from exc
        if response.status_code == 401:
            raise KeyRefused(f"{service} refused the key")
        if response.status_code >= 500 or response.status_code in (429,):
            raise ServicesUnavailable(f"the {service} service answered {response.status_code}")
        if response.status_code >= 400 and response.status_code != 404:
            log.warning("service_refused", service=service, path=path, status=response.status_code)
            raise ServicesUnavailable(f"the {service} service refused {path}")
        return response
