"""Response models of the ingest API (requests are read by ``native`` and ``segment``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

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
