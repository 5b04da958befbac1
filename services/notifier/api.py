"""The notifier's HTTP API: recommendations, webhook endpoints and the delivery log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.notifier import handlers
from services.notifier.handlers import Context
from services.notifier.records import Endpoint
from services.notifier.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    MessageOut,
    Page,
    RecommendationOut,
    Rescheduled,
)
from services.notifier.store import DeliveryStatus
from shared.clock import timestamp, utc_now
from shared.errors import Conflict, Unprocessable
from shared.idempotent_requests import Answer, IdempotencyKey, answer_once
from shared.openapi import errors
from shared.tenancy.auth import SecretTenant


def _context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(_context)]
Limit = Annotated[int, Query(ge=1, le=500)]
MAX_CURSOR = 2**63 - 1


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    # A cursor is a BIGINT sequence number: anything else did not come from next_cursor.
    if not cursor.isdigit() or int(cursor) > MAX_CURSOR:
        raise Unprocessable("cursor: pass the next_cursor of the previous page", field="cursor")
    return int(cursor)


def _next(seqs: list[int], limit: int) -> str | None:
    return str(seqs[-1]) if len(seqs) == limit else None


def _with_secret(endpoint: Endpoint) -> EndpointWithSecret:
    return EndpointWithSecret.model_validate(endpoint)


router = APIRouter(prefix="/v1")


@router.get("/recommendations", tags=["recommendations"])
async def list_recommendations(
    tenant: SecretTenant,
    notifier: ContextDep,
    account_id: str | None = None,
    since: AwareDatetime | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[RecommendationOut]:
    """The tenant's recommendations, oldest first, optionally for one account and since a time."""
    rows = await handlers.list_recommendations(
        notifier, tenant.id, account_id=account_id, since=since, cursor=_cursor(cursor), limit=limit
    )
    return Page[RecommendationOut](
        data=[RecommendationOut.model_validate(r.data) for r in rows],
        next_cursor=_next([r.seq for r in rows], limit),
    )


@router.get("/recommendations/{recommendation_id}", tags=["recommendations"])
async def get_recommendation(
    recommendation_id: str, tenant: SecretTenant, notifier: ContextDep
) -> RecommendationOut:
    """One recommendation, as it was pushed (the webhook's ``data``)."""
    stored = await handlers.get_recommendation(notifier, tenant.id, recommendation_id)
    return RecommendationOut.model_validate(stored.data)


@router.post(
    "/webhooks/endpoints",
    status_code=201,
    response_model=EndpointWithSecret,
    responses=errors(Conflict),
    tags=["webhook endpoints"],
)
async def create_endpoint(
    body: EndpointIn,
    tenant: SecretTenant,
    notifier: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register an endpoint; the response carries its ``whsec_`` secret, shown only now. A
    retry with the same ``Idempotency-Key`` and body gets the same endpoint, not a second."""

    async def register() -> Answer:
        row = await handlers.create_endpoint(
            notifier,
            tenant.id,
            url=body.url,
            description=body.description,
            event_types=body.event_types,
        )
        return 201, _with_secret(row).model_dump(mode="json")

    route = "POST /v1/webhooks/endpoints"
    return await _once(
        notifier, tenant.id, idempotency_key, route, body.model_dump(mode="json"), register
    )


@router.get("/webhooks/endpoints", tags=["webhook endpoints"])
async def list_endpoints(tenant: SecretTenant, notifier: ContextDep) -> list[EndpointOut]:
    """Every endpoint of the tenant (secrets are not shown)."""
    rows = await handlers.list_endpoints(notifier, tenant.id)
    return [EndpointOut.model_validate(row) for row in rows]


@router.get("/webhooks/endpoints/{endpoint_id}", tags=["webhook endpoints"])
async def get_endpoint(endpoint_id: str, tenant: SecretTenant, notifier: ContextDep) -> EndpointOut:
    """One endpoint."""
    return EndpointOut.model_validate(await handlers.get_endpoint(notifier, tenant.id, endpoint_id))


@router.patch("/webhooks/endpoints/{endpoint_id}", tags=["webhook endpoints"])
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, tenant: SecretTenant, notifier: ContextDep
) -> EndpointOut:
    """Change url, description, event types or enabled."""
    # null means "leave as is", like an absent field.
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    row = await handlers.update_endpoint(notifier, tenant.id, endpoint_id, changes)
    return EndpointOut.model_validate(row)


@router.delete("/webhooks/endpoints/{endpoint_id}", status_code=204, tags=["webhook endpoints"])
async def delete_endpoint(endpoint_id: str, tenant: SecretTenant, notifier: ContextDep) -> Response:
    """Delete an endpoint and its delivery log."""
    await handlers.delete_endpoint(notifier, tenant.id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    responses=errors(Conflict),
    tags=["webhook endpoints"],
)
async def rotate_secret(
    endpoint_id: str,
    tenant: SecretTenant,
    notifier: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new secret; the previous one keeps signing (a second signature) for the grace period.
    A retry with the same ``Idempotency-Key`` gets the same new secret, not a third."""

    async def rotate() -> Answer:
        row = await handlers.rotate_secret(notifier, tenant.id, endpoint_id)
        return 200, _with_secret(row).model_dump(mode="json")

    route = f"POST /v1/webhooks/endpoints/{endpoint_id}/rotate-secret"
    return await _once(notifier, tenant.id, idempotency_key, route, None, rotate)


@router.post(
    "/webhooks/endpoints/{endpoint_id}/recover",
    response_model=Rescheduled,
    responses=errors(Conflict),
    tags=["webhook endpoints"],
)
async def recover_endpoint(
    endpoint_id: str,
    tenant: SecretTenant,
    notifier: ContextDep,
    since: Annotated[AwareDatetime, Query()],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Replay every failed delivery to this endpoint of messages created since ``since``."""

    async def recover() -> Answer:
        count = await handlers.recover_endpoint(notifier, tenant.id, endpoint_id, since)
        return 200, Rescheduled(rescheduled=count).model_dump(mode="json")

    route = f"POST /v1/webhooks/endpoints/{endpoint_id}/recover"
    body = {"since": timestamp(since)}
    return await _once(notifier, tenant.id, idempotency_key, route, body, recover)


@router.get("/webhooks/messages", tags=["webhook messages"])
async def list_messages(
    tenant: SecretTenant,
    notifier: ContextDep,
    status: DeliveryStatus | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[MessageOut]:
    """Messages, oldest first; ``status`` keeps those with a delivery in that status."""
    rows = await handlers.list_messages(
        notifier, tenant.id, status=status, cursor=_cursor(cursor), limit=limit
    )
    return Page[MessageOut](
        data=[
            MessageOut(
                id=message.id,
                event_type=message.event_type,
                account_id=message.account_id,
                created_at=message.created_at,
                payload=orjson.loads(message.body),
                deliveries=[DeliveryOut.model_validate(d) for d in message.deliveries],
            )
            for message in rows
        ],
        next_cursor=_next([message.seq for message in rows], limit),
    )


@router.get("/webhooks/messages/{message_id}/attempts", tags=["webhook messages"])
async def message_attempts(
    message_id: str, tenant: SecretTenant, notifier: ContextDep
) -> list[AttemptOut]:
    """Every HTTP attempt of a message, oldest first."""
    rows = await handlers.message_attempts(notifier, tenant.id, message_id)
    return [AttemptOut.model_validate(row) for row in rows]


@router.post(
    "/webhooks/messages/{message_id}/replay",
    response_model=Rescheduled,
    responses=errors(Conflict),
    tags=["webhook messages"],
)
async def replay_message(
    message_id: str,
    tenant: SecretTenant,
    notifier: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Send the message again to its endpoints, each with a fresh retry schedule. A retry with
    the same ``Idempotency-Key`` does not send it a third time."""

    async def replay() -> Answer:
        count = await handlers.replay_message(notifier, tenant.id, message_id)
        return 200, Rescheduled(rescheduled=count).model_dump(mode="json")

    route = f"POST /v1/webhooks/messages/{message_id}/replay"
    return await _once(notifier, tenant.id, idempotency_key, route, None, replay)


async def _once(
    notifier: Context,
    tenant_id: str,
    idempotency_key: str | None,
    route: str,
    body: Any,
    run: Callable[[], Awaitable[Answer]],
) -> Response:
    status_code, answer = await answer_once(
        notifier.sessions,
        tenant_id=tenant_id,
        key=idempotency_key,
        route=route,
        body=body,
        now=utc_now(),
        run=run,
    )
    return JSONResponse(answer, status_code=status_code)
