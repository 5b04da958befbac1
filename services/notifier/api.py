"""The notifier's HTTP API: recommendations, webhook endpoints and the delivery log."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from services.notifier import handlers
from services.notifier.handlers import Notifier
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
from services.notifier.tables import EndpointRow
from shared.auth import SecretTenant
from shared.clock import utc_now
from shared.errors import Unprocessable
from shared.idempotent_requests import IdempotencyKey, answer_once


def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(_notifier)]
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


def _with_secret(row: EndpointRow) -> EndpointWithSecret:
    return EndpointWithSecret(**EndpointOut.model_validate(row).model_dump(), secret=row.secret)


router = APIRouter(prefix="/v1")


@router.get("/recommendations")
async def list_recommendations(
    tenant: SecretTenant,
    notifier: NotifierDep,
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
        data=[RecommendationOut.model_validate(handlers.recommendation_data(r)) for r in rows],
        next_cursor=_next([r.seq for r in rows], limit),
    )


@router.post("/webhooks/endpoints", status_code=201, response_model=EndpointWithSecret)
async def create_endpoint(
    body: EndpointIn,
    tenant: SecretTenant,
    notifier: NotifierDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register an endpoint; the response carries its ``whsec_`` secret, shown only now. A
    retry with the same ``Idempotency-Key`` and body gets the same endpoint, not a second."""

    async def register() -> tuple[int, object]:
        row = await handlers.create_endpoint(
            notifier,
            tenant.id,
            url=body.url,
            description=body.description,
            event_types=body.event_types,
        )
        return 201, _with_secret(row).model_dump(mode="json")

    status_code, answer = await answer_once(
        notifier.sessions,
        tenant_id=tenant.id,
        key=idempotency_key,
        route="POST /v1/webhooks/endpoints",
        body=body.model_dump(mode="json"),
        now=utc_now(),
        run=register,
    )
    return JSONResponse(answer, status_code=status_code)


@router.get("/webhooks/endpoints")
async def list_endpoints(tenant: SecretTenant, notifier: NotifierDep) -> list[EndpointOut]:
    """Every endpoint of the tenant (secrets are not shown)."""
    rows = await handlers.list_endpoints(notifier, tenant.id)
    return [EndpointOut.model_validate(row) for row in rows]


@router.get("/webhooks/endpoints/{endpoint_id}")
async def get_endpoint(
    endpoint_id: str, tenant: SecretTenant, notifier: NotifierDep
) -> EndpointOut:
    """One endpoint."""
    return EndpointOut.model_validate(await handlers.get_endpoint(notifier, tenant.id, endpoint_id))


@router.patch("/webhooks/endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, tenant: SecretTenant, notifier: NotifierDep
) -> EndpointOut:
    """Change url, description, event types or enabled."""
    # null means "leave as is", like an absent field.
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    row = await handlers.update_endpoint(notifier, tenant.id, endpoint_id, changes)
    return EndpointOut.model_validate(row)


@router.delete("/webhooks/endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(
    endpoint_id: str, tenant: SecretTenant, notifier: NotifierDep
) -> Response:
    """Delete an endpoint and its delivery log."""
    await handlers.delete_endpoint(notifier, tenant.id, endpoint_id)
    return Response(status_code=204)


@router.post("/webhooks/endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: str, tenant: SecretTenant, notifier: NotifierDep
) -> EndpointWithSecret:
    """A new secret; the previous one keeps signing (a second signature) for the grace period."""
    return _with_secret(await handlers.rotate_secret(notifier, tenant.id, endpoint_id))


@router.post("/webhooks/endpoints/{endpoint_id}/recover")
async def recover_endpoint(
    endpoint_id: str,
    tenant: SecretTenant,
    notifier: NotifierDep,
    since: Annotated[AwareDatetime, Query()],
) -> Rescheduled:
    """Replay every failed delivery to this endpoint of messages created since ``since``."""
    count = await handlers.recover_endpoint(notifier, tenant.id, endpoint_id, since)
    return Rescheduled(rescheduled=count)


@router.get("/webhooks/messages")
async def list_messages(
    tenant: SecretTenant,
    notifier: NotifierDep,
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
                deliveries=[DeliveryOut.model_validate(d) for d in deliveries],
            )
            for message, deliveries in rows
        ],
        next_cursor=_next([message.seq for message, _ in rows], limit),
    )


@router.get("/webhooks/messages/{message_id}/attempts")
async def message_attempts(
    message_id: str, tenant: SecretTenant, notifier: NotifierDep
) -> list[AttemptOut]:
    """Every HTTP attempt of a message, oldest first."""
    rows = await handlers.message_attempts(notifier, tenant.id, message_id)
    return [AttemptOut.model_validate(row) for row in rows]


@router.post("/webhooks/messages/{message_id}/replay")
async def replay_message(
    message_id: str, tenant: SecretTenant, notifier: NotifierDep
) -> Rescheduled:
    """Send the message again to its endpoints, each with a fresh retry schedule."""
    return Rescheduled(rescheduled=await handlers.replay_message(notifier, tenant.id, message_id))
