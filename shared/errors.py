"""Errors every API answers with, and the one JSON body they share.

    ApiError                  4xx/5xx with a stable code, a message and the field at fault
    ├── BadRequest            400  the request cannot be read (bad JSON, bad encoding)
    ├── Unauthorized          401  no key, or a key that is not valid for this API
    ├── Forbidden             403  the key is valid but may not do this
    ├── NotFound              404  no such resource for this tenant
    ├── Conflict              409  the resource exists or changed meanwhile
    ├── PayloadTooLarge       413  the body or an item is over a limit
    ├── Unprocessable         422  the body was read but a field is invalid
    ├── TooManyRequests       429  the tenant's rate limit is spent; Retry-After says when
    └── ServiceUnavailable    503  a dependency (Kafka, the database) is down; Retry-After

Body: ``{"error": {"code": "...", "message": "...", "field": "...", "errors": [...]}}``;
``errors`` lists every invalid field when there are several.

Every service's domain errors subclass these (``IngestError``, ``EquivalentsError``,
``NotifierError``, the correlation and console errors), so they carry their code, field, reason
and status themselves and the one handler ``shared.http`` installs in every app answers them;
no service maps its errors by hand.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ApiError(Exception):
    """An error that reaches the client as a JSON body; never carries a stack trace."""

    status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code
        self.errors = errors
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """The JSON body sent to the client."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.errors is not None:
            error["errors"] = self.errors
        return {"error": error}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class BadRequest(ApiError):
    status_code = 400
    default_code = "bad_request"


class Unauthorized(ApiError):
    status_code = 401
    default_code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(ApiError):
    status_code = 403
    default_code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    default_code = "not_found"


class Conflict(ApiError):
    status_code = 409
    default_code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    default_code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    default_code = "unsupported_media_type"


class Unprocessable(ApiError):
    status_code = 422
    default_code = "validation_error"


class TooManyRequests(ApiError):
    status_code = 429
    default_code = "rate_limited"


class ServiceUnavailable(ApiError):
    status_code = 503
    default_code = "unavailable"
