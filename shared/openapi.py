"""The OpenAPI document of every service, made to tell the truth in one place.

FastAPI's generated document knows the routes and their models, but not the error body the
services really send, nor which errors a route can answer. ``install_openapi`` rewrites it once:

- every error response carries the shared ``ErrorBody`` (FastAPI's ``HTTPValidationError`` is
  gone: validation errors are sent in the shared body too);
- each operation lists the errors it really returns: those its route declares with ``errors``
  (409, 413, 415, 429, ...), and those every operation of its kind answers: 400 for a NUL in the
  path or query (``RejectNulCharacters``) or a body that cannot be read, 401 when it needs a key, 404 when its path names a
  resource, 422 when it takes parameters or a body, 503 when the database or Kafka is down;
- operation ids are the route functions' names in camelCase (``listAccounts``), stable and
  readable in generated clients;
- request bodies documented from a model whose routes read the body themselves (ingest streams
  and size-caps it) have their ``$defs`` hoisted into the components, so no reference dangles.

The security schemes come from ``shared.auth``'s dependencies, which FastAPI records per route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import (
    ApiError,
    BadRequest,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)


class ErrorItem(BaseModel):
    """One invalid field among several."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(description="The field at fault, as a JSON path (``events[3].kind``).")
    reason: str = Field(description="Why it was refused.")


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="A stable, machine-readable code (``account_not_found``).")
    message: str = Field(description="A sentence for people.")
    field: str | None = Field(default=None, description="The field or parameter at fault.")
    errors: list[ErrorItem] | None = Field(
        default=None, description="Every invalid field, when there are several."
    )


class ErrorBody(BaseModel):
    """The body of every error answer of every service."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "code": "account_not_found",
                        "message": "no account 'acme'",
                        "field": "account_id",
                    }
                }
            ]
        }
    )

    error: ErrorDetail


ERROR_SCHEMA = "ErrorBody"
# Errors every operation of a kind answers; a route's own ``errors`` add to these.
_SECURED = (Unauthorized,)
_PATH_PARAMETERS = (BadRequest, NotFound)
_QUERY_PARAMETERS = (BadRequest,)
_BODY = (BadRequest,)  # a body that cannot be read at all
_INPUT = (Unprocessable,)
_ANY_VERSIONED = (ServiceUnavailable,)

_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read (a NUL character, bad JSON or encoding).",
    401: "No key, or a key that is not valid for this API.",
    403: "The key may not do this.",
    404: "No such resource for this tenant.",
    409: "The resource exists, or the Idempotency-Key was used with another body.",
    413: "The body or an item is over a limit.",
    415: "The content type is not JSON.",
    422: "A field is invalid; ``field`` names it, ``errors`` lists every one.",
    429: "The tenant's rate limit is spent; Retry-After says when to retry.",
    503: "The database or Kafka is unavailable; Retry-After says when to retry.",
}


def errors(*raised: type[ApiError]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the errors it raises beyond those of its kind."""
    return {
        error.status_code: {"description": _DESCRIPTIONS[error.status_code]} for error in raised
    }


def operation_id(route: APIRoute) -> str:
    """The route function's name in camelCase: ``list_accounts`` -> ``listAccounts``."""
    head, *rest = route.name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def install_openapi(
    app: FastAPI,
    *,
    error_schemas: Callable[[str], str] = lambda path: ERROR_SCHEMA,
    extra_schemas: Iterable[type[BaseModel]] = (),
) -> None:
    """Make ``app.openapi()`` return the truthful document (built once, then cached).

    ``error_schemas`` names the error body schema of a path (the Segment routes send their own);
    ``extra_schemas`` are models it names that no route references.
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = _truthful(document, error_schemas, [ErrorBody, *extra_schemas])
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _truthful(
    document: dict[str, Any],
    error_schemas: Callable[[str], str],
    models: Iterable[type[BaseModel]],
) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for model in models:
        _add_model(schemas, model)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, methods in document.get("paths", {}).items():
        for operation in methods.values():
            _hoist_body_definitions(operation, schemas)
            _document_errors(path, operation, error_schemas(path))
    document = _rewrite_refs(document)
    if not schemas:
        components.pop("schemas")
    return document


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault(model.__name__, schema)


def _hoist_body_definitions(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body documented from ``Model.model_json_schema()`` keeps its definitions under
    ``$defs``; they move to the components, and the body becomes a reference to its model."""
    content = operation.get("requestBody", {}).get("content", {})
    for media in content.values():
        schema = media.get("schema", {})
        definitions = schema.pop("$defs", None)
        if definitions is None:
            continue
        for name, definition in definitions.items():
            schemas.setdefault(name, definition)
        title = schema.get("title")
        if isinstance(title, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", title):
            schemas.setdefault(title, schema)
            media["schema"] = {"$ref": f"#/components/schemas/{title}"}


def _document_errors(path: str, operation: dict[str, Any], schema: str) -> None:
    parameters = operation.get("parameters", [])
    kinds: list[type[ApiError]] = []
    if operation.get("security"):
        kinds += _SECURED
    if any(p.get("in") == "path" for p in parameters):
        kinds += _PATH_PARAMETERS
    if any(p.get("in") == "query" for p in parameters):
        kinds += _QUERY_PARAMETERS
    if "requestBody" in operation:
        kinds += _BODY
    if parameters or "requestBody" in operation:
        kinds += _INPUT
    if path.startswith("/v1/"):
        kinds += _ANY_VERSIONED
    responses = operation.setdefault("responses", {})
    for kind in kinds:
        responses.setdefault(str(kind.status_code), {"description": ""})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        response["description"] = response.get("description") or _DESCRIPTIONS.get(
            int(status), "An error."
        )
        declared = response.get("content", {}).get("application/json", {}).get("schema", {})
        if not declared or declared.get("$ref", "").endswith("/HTTPValidationError"):
            response["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
            }


def _rewrite_refs(node: Any) -> Any:
    """``#/$defs/X`` -> ``#/components/schemas/X`` everywhere."""
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/")
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node
