"""Routes of the native and Segment-compatible APIs: read, authenticate, hand to a handler.

Bodies are read as a stream and cut off past the limit (before any decompression), so a client
cannot make an instance buffer an unbounded body; gzip limits apply after inflation.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, Security

from services.ingest.credentials import write_key_from
from services.ingest.errors import TooLarge
from services.ingest.handlers import (
    Context,
    erasure_status,
    ingest_native,
    ingest_segment,
    request_erasure,
)
from services.ingest.native import NativeBatch
from services.ingest.payloads import check_content_type, decode_body
from services.ingest.schemas import ErasureOut, NativeAccepted, PersonErasureIn, SegmentAccepted
from services.ingest.segment import SegmentBatch, SegmentMessage, SegmentType, body_write_key
from shared.clock import utc_now
from shared.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.openapi import errors
from shared.tenancy.auth import SEGMENT_WRITE_KEY, WRITE_KEY, AdminAccess, SecretTenant
from shared.tenancy.keys import KeyKind, Tenant
from shared.tenancy.store import get_tenant

router = APIRouter(tags=["ingest"])

# A gzip body can be a little larger than what it inflates to (headers, stored blocks).
GZIP_OVERHEAD_BYTES = 1024


def _context(request: Request) -> Context:
    """The service's context; the event routes read it straight from the request (they parse
    their bodies themselves, on the hot path), the others through ``ContextDep``."""
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(_context)]


def _json(content: Any) -> Response:
    return Response(orjson.dumps(content), media_type="application/json")


async def read_body(request: Request, max_bytes: int) -> object:
    """The parsed body; raw bytes past ``max_bytes`` (plus gzip slack) stop the read."""
    check_content_type(request.headers.get("content-type"))
    encoding = request.headers.get("content-encoding")
    raw_limit = max_bytes + (max_bytes // 1000 + GZIP_OVERHEAD_BYTES if encoding else 0)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > raw_limit:
        raise TooLarge("body", f"over {max_bytes} bytes", limit=max_bytes)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > raw_limit:
            raise TooLarge("body", f"over {max_bytes} bytes", limit=max_bytes)
    return decode_body(bytes(data), content_encoding=encoding, max_bytes=max_bytes)


async def _tenant(request: Request, key: str | None, how: str) -> Tenant:
    if key is None:
        raise Unauthorized(f"send the write key {how}", field="authorization")
    tenant = await _context(request).resolver.resolve(key, KeyKind.WRITE)
    if tenant is None:
        raise Unauthorized("the write key is not valid", field="authorization")
    return tenant


def _documented_body(schema: dict[str, Any]) -> dict[str, Any]:
    # Routes read the body themselves (streamed, size-capped); this only documents it.
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# The routes read the key themselves (Bearer, Basic or the body's writeKey); these only
# document it.
_WRITE_KEYS = [Security(WRITE_KEY), Security(SEGMENT_WRITE_KEY)]
_READ_ERRORS = errors(
    BadRequest, Unauthorized, PayloadTooLarge, UnsupportedMediaType, TooManyRequests
)


@router.post(
    "/v1/events",
    response_model=NativeAccepted,
    summary="Ingest one native event or a batch",
    openapi_extra=_documented_body(NativeBatch.model_json_schema()),
    dependencies=_WRITE_KEYS,
    responses=errors(Unprocessable) | _READ_ERRORS,
)
async def post_events(request: Request) -> Response:
    """Publish one event or ``{"events": [...]}`` (atomic: any bad item -> 422, none kept)."""
    key = write_key_from(request.headers.get("authorization"), None)
    tenant = await _tenant(request, key, "as 'Authorization: Bearer <write key>'")
    ingestor = _context(request)
    body = await read_body(request, ingestor.native_limits.max_body_bytes)
    ids = await ingest_native(ingestor, tenant.id, body)
    return _json({"accepted": len(ids), "ids": ids})


async def _segment(request: Request, call_type: SegmentType | None) -> Response:
    received_at = utc_now()
    ingestor = _context(request)
    how = "as the HTTP Basic username or the body's writeKey"
    key = write_key_from(request.headers.get("authorization"), None)
    # A key in the header is checked before the body is read; otherwise it is in the body.
    tenant = await _tenant(request, key, how) if key is not None else None
    body = await read_body(request, ingestor.segment_limits.max_request_bytes)
    if tenant is None:
        tenant = await _tenant(request, write_key_from(None, body_write_key(body)), how)
    result = await ingest_segment(ingestor, tenant.id, body, call_type, received_at)
    if not result.rejected:
        return _json({"success": True})
    rejected = [
        {"index": r.index, "code": r.code, "field": r.field, "reason": r.reason}
        for r in result.rejected
    ]
    return _json({"success": True, "rejected": rejected})


@router.post(
    "/v1/batch",
    response_model=SegmentAccepted,
    summary="Segment batch",
    openapi_extra=_documented_body(SegmentBatch.model_json_schema()),
    dependencies=_WRITE_KEYS,
    responses=_READ_ERRORS,
)
async def post_batch(request: Request) -> Response:
    """Segment's ``/v1/batch``: good messages are published, bad ones dead-lettered."""
    return await _segment(request, None)


def _segment_call_route(call_type: SegmentType) -> None:
    async def post_call(request: Request) -> Response:
        return await _segment(request, call_type)

    post_call.__doc__ = f"Segment's ``/v1/{call_type.value}``."
    router.add_api_route(
        f"/v1/{call_type.value}",
        post_call,
        methods=["POST"],
        response_model=SegmentAccepted,
        summary=f"Segment {call_type.value}",
        name=f"segment_{call_type.value}",
        openapi_extra=_documented_body(SegmentMessage.model_json_schema()),
        dependencies=_WRITE_KEYS,
        responses=_READ_ERRORS,
    )


for _call_type in SegmentType:
    _segment_call_route(_call_type)


erasures = APIRouter(tags=["erasure"])
ACCEPTED = errors(Conflict, ServiceUnavailable)


async def _known_tenant(context: Context, tenant_id: str) -> str:
    async with context.sessions() as session:
        if await get_tenant(session, tenant_id) is None:
            raise NotFound(f"no tenant {tenant_id!r}", field="tenant_id")
    return tenant_id


@erasures.delete("/v1/tenants/{tenant_id}", status_code=202)
async def delete_tenant(tenant_id: str, context: ContextDep, _admin: AdminAccess) -> ErasureOut:
    """Delete a tenant and everything every service holds of it (202: the services apply it;
    read its progress at ``/v1/tenants/{tenant_id}/erasures/{id}``). Its keys stop working and
    its events still in flight are dropped."""
    await _known_tenant(context, tenant_id)
    erasure = await request_erasure(context, tenant_id, None)
    return ErasureOut.of(erasure)


@erasures.post("/v1/tenants/{tenant_id}/erasures", status_code=202)
async def erase_tenant_person(
    tenant_id: str, body: PersonErasureIn, context: ContextDep, _admin: AdminAccess
) -> ErasureOut:
    """Erase a person of a tenant, as the operator."""
    await _known_tenant(context, tenant_id)
    erasure = await request_erasure(context, tenant_id, body.person_id)
    return ErasureOut.of(erasure)


@erasures.get("/v1/tenants/{tenant_id}/erasures/{erasure_id}")
async def tenant_erasure(
    tenant_id: str, erasure_id: str, context: ContextDep, _admin: AdminAccess
) -> ErasureOut:
    """An erasure of a tenant (its deletion, or one of its people) and its progress."""
    return ErasureOut.of(await erasure_status(context.sessions, erasure_id, tenant_id))


@erasures.post("/v1/erasures", status_code=202)
async def erase_person(
    body: PersonErasureIn, context: ContextDep, tenant: SecretTenant
) -> ErasureOut:
    """Erase one of the tenant's people (a customer's employee who asked to be forgotten) from
    every service: 202, then read its progress. Their events still in flight are dropped, and
    later events naming them are dropped too."""
    erasure = await request_erasure(context, tenant.id, body.person_id)
    return ErasureOut.of(erasure)


@erasures.get("/v1/erasures/{erasure_id}")
async def get_erasure(erasure_id: str, context: ContextDep, tenant: SecretTenant) -> ErasureOut:
    """One of the tenant's erasures and each service's progress on it."""
    return ErasureOut.of(await erasure_status(context.sessions, erasure_id, tenant.id))
