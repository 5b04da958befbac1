"""The console's app factory and lifespan."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import plotly
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry

from services.console import api
from services.console.errors import SignInRequired
from services.console.gateway import Gateway
from services.console.handlers import Console, apply_erasure
from services.console.sealing import Sealer
from services.console.settings import ConsoleSettings
from shared.erasure_runner import run_erasures
from shared.errors import ApiError
from shared.ops import ReadinessCheck
from shared.service import (
    background,
    build_app,
    open_database,
    open_healing_producer,
    standard_checks,
)

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
# Plotly's bundle ships inside its Python package: the pages load nothing from elsewhere.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data"
SECURITY_HEADERS = {
    # Plotly evaluates generated code for its chart types, hence 'unsafe-eval' for scripts.
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Share links carry their token in the path: never send it on to another site (and keep
    # the Origin header on the console's own forms, which "no-referrer" would blank).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _error_page(request: Request, exc: ApiError) -> Response:
    """Errors as pages: a sign-in for a session that is missing, the page with its status
    otherwise."""
    if isinstance(exc, SignInRequired) and request.method == "GET":
        return RedirectResponse("/sign-in", status_code=303)
    if exc.status_code == 401 and request.url.path == "/sign-in":
        return api.sign_in_page(request, request.app.state.console, exc.message, exc.status_code)
    return _render_error(request, exc.status_code, exc.message, exc.headers())


def _render_error(
    request: Request, status: int, message: str, headers: dict[str, str]
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message},
        status_code=status, headers=headers,
    )  # fmt: skip


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    """Build the console; the lifespan opens the database and an HTTP client to the services."""
    settings = settings or ConsoleSettings()
    secret = settings.session_secret
    if secret is None:
        log.warning("console_session_secret_unset", effect="sessions end on restart")
        secret = secrets.token_urlsafe(32)
    urls = {
        "ingest": settings.ingest_url.rstrip("/"),
        "correlation": settings.correlation_url.rstrip("/"),
        "equivalents": settings.equivalents_url.rstrip("/"),
        "notifier": settings.notifier_url.rstrip("/"),
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            database = await stack.enter_async_context(open_database(settings))
            app.state.database = database
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.api_timeout_seconds)
            )
            app.state.console = Console(
                settings, database.sessions, Gateway(http, urls), Sealer(secret)
            )
            # Only the erasures consumer publishes: its dead letters.
            producer = await stack.enter_async_context(
                open_healing_producer(settings, client_id="ampm-console")
            )
            await stack.enter_async_context(
                background(
                    "console-erasures",
                    lambda: run_erasures(
                        settings, database.sessions, "console", apply_erasure, producer=producer
                    ),
                )
            )
            yield

    async def services_answer() -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            for url in urls.values():
                (await http.get(f"{url}/healthz")).raise_for_status()

    app = build_app(
        title="ampm console",
        description="The GPS pages of the portfolio and of each account, and share links.",
        settings=settings,
        lifespan=lifespan,
        checks=[
            standard_checks(settings, lambda: app.state.database.engine)[0],
            ReadinessCheck("services", services_answer),
        ],
        registry=CollectorRegistry(),
        respond=_error_page,
    )
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.mount("/static/vendor", StaticFiles(directory=PLOTLY_JS), name="vendor")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        return _render_error(request, 422, str(first.get("msg")), {})

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
