"""Response models of the ingest API (requests are read by ``native`` and ``segment``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.ingest.handlers import ErasureStatus
from shared.erasure import ErasureScope
from shared.events import NO_NUL
from shared.openapi import ErrorDetail


class NativeAccepted(BaseModel):
    """``POST /v1/events``: every event is in Kafka."""

    accepted: int = Field(description="How many events were published.")
    ids: list[str] = Field(description="Their ids, in request order (generated when absent).")


class DroppedMessage(BaseModel):
    """A Segment message that was dropped and dead-lettered."""

    index: int
    code: str
    field: str
    reason: str


class SegmentAccepted(BaseModel):
    """Segment's answer: always ``success``; ``rejected`` lists dropped messages, if any."""

    success: bool = True
    rejected: list[DroppedMessage] | None = None


class SegmentErrorBody(BaseModel):
    """An error on a Segment route: Segment's own ``code`` and ``message`` at the top (its SDKs
    read them), and the shared body under ``error``."""

    code: str
    message: str
    error: ErrorDetail


class PersonErasureIn(BaseModel):
    """Erase one person's data (a customer's employee) across every service."""

    person_id: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class ErasureOut(BaseModel):
    """An erasure and each service's progress on it."""

    id: str
    tenant_id: str
    scope: ErasureScope
    status: str = Field(description="pending, or completed once every service applied it")
    requested_at: datetime
    services: dict[str, datetime | None] = Field(
        description="When each service applied it (null: not yet)."
    )

    @classmethod
    def of(cls, erasure: ErasureStatus) -> ErasureOut:
        return cls(
            id=erasure.request.id,
            tenant_id=erasure.request.tenant_id,
            scope=erasure.request.scope,
            status=erasure.status,
            requested_at=erasure.request.requested_at,
            services=erasure.services,
        )
