"""Exception handlers that turn every failure into the shared JSON error body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ApiError, BadRequest, ServiceUnavailable, Unprocessable

log = structlog.get_logger(__name__)

# PostgreSQL text cannot hold these; the driver's error class names say which one it met.
UNSTORABLE_TEXT_ERRORS = {"CharacterNotInRepertoireError", "UntranslatableCharacterError"}
OUT_OF_RANGE_ERRORS = {"DataError", "NumericValueOutOfRangeError", "OverflowError"}
DATABASE_RETRY_AFTER_SECONDS = 5


def _driver_errors(exc: DBAPIError) -> set[str]:
    """Class names along the driver error's cause chain (asyncpg's error sits under the
    DBAPI adapter's)."""
    names: set[str] = set()
    error: BaseException | None = exc.orig
    while error is not None and len(names) < 10:
        names.add(type(error).__name__)
        error = error.__cause__
    return names


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("body", "events", 3, "kind")`` -> ``events[3].kind``: the field as a client names it."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def validation_errors(errors: list[dict[str, Any]] | Any) -> list[dict[str, Any]]:
    """Pydantic's error list as ``[{"field", "reason"}]``."""
    return [{"field": field_path(e["loc"]), "reason": e["msg"]} for e in errors]


ErrorResponder = Callable[[Request, ApiError], Response]


def json_error(_request: Request, error: ApiError) -> Response:
    """The shared JSON error body with the error's status and headers."""
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())


def install_error_handlers(app: FastAPI, respond: ErrorResponder = json_error) -> None:
    """Map every exception to a JSON body once, at the boundary. Every service's domain errors
    subclass ``ApiError``, so one handler answers them all; ``respond`` renders them (ingest
    adds Segment's fields on its Segment routes, the console renders a page)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc.errors())
        first = errors[0] if errors else {"field": "body", "reason": "invalid"}
        body = {
            "error": {
                "code": "validation_error",
                "message": f"{first['field']}: {first['reason']}",
                "field": first["field"],
                "errors": errors,
            }
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        causes = _driver_errors(exc)
        if causes & UNSTORABLE_TEXT_ERRORS:
            error: ApiError = Unprocessable(
                "text fields cannot contain NUL characters", field="body", code="invalid_character"
            )
        elif causes & OUT_OF_RANGE_ERRORS:
            error = Unprocessable(
                "a number is out of the range the database stores",
                field="body",
                code="out_of_range",
            )
        elif isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
            error = ServiceUnavailable(
                "the database is unavailable; retry later",
                retry_after=DATABASE_RETRY_AFTER_SECONDS,
            )
        else:
            return await _unexpected(request, exc)
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path, error=type(exc).__name__)
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "internal error"}}, status_code=500
        )


class RejectNulCharacters:
    """ASGI middleware: a NUL character in the path or query is a 400 naming the parameter.

    Nothing downstream can store it (PostgreSQL text refuses it), so it is refused at the door.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            field = _nul_field(scope)
            if field is not None:
                error = BadRequest(
                    f"{field} contains a NUL character", field=field, code="invalid_character"
                )
                response = JSONResponse(error.body(), status_code=error.status_code)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_field(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    for name, value in parse_qsl(
        scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
    ):
        if "\x00" in name or "\x00" in value:
            return f"query.{name.replace(chr(0), '')}"
    return None
