"""Operational endpoints every service serves: ``/healthz``, ``/readyz``, ``/metrics``.

Each app owns its Prometheus ``CollectorRegistry`` (no process-global metrics), and a small
ASGI middleware counts requests by route template and status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READINESS_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class ReadinessCheck:
    """A named dependency probe; it raises when the dependency is unreachable."""

    name: str
    probe: Callable[[], Awaitable[None]]


def ops_router(checks: list[ReadinessCheck], registry: CollectorRegistry) -> APIRouter:
    """Routes for liveness, readiness and Prometheus scraping."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
    async def readyz() -> JSONResponse:
        """The database and Kafka are reachable."""
        results = await asyncio.gather(*(_run(check) for check in checks))
        report = dict(zip((c.name for c in checks), results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", response_class=Response)
    async def metrics() -> Response:
        """Prometheus text exposition format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


async def _run(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check.probe(), READINESS_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means not ready; the reason goes in the report
        return f"error: {type(exc).__name__}: {exc}"[:300]
    return "ok"


class RequestMetrics:
    """ASGI middleware: request count and latency per method, route template and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "ampm_http_requests_total",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ampm_http_request_duration_seconds",
            "HTTP request latency by method and route.",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
