"""Response models of the ingest API (requests are read by ``native`` and ``segment``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
