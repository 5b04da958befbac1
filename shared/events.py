"""The event envelope that travels on Kafka, and its wire encoding.

Every service speaks this contract: ingest produces it, correlation and equivalents consume it.
Values are compact JSON (orjson); the Kafka key is ``tenant_id:account_id`` so one account's
events stay ordered in one partition; CloudEvents binary-mode headers let other tools route a
message without parsing its value.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from shared.clock import timestamp

CLOUDEVENTS_SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
EVENT_ID_MAX_LENGTH = 99

Header = tuple[str, bytes]


class EventKind(StrEnum):
    """What an event measures: product usage, a human activity, a business KPI, or a change."""

    USAGE = "usage"
    ACTIVITY = "activity"
    PERFORMANCE = "performance"
    LIFECYCLE = "lifecycle"


class EventSource(StrEnum):
    """Which door of the ingest service the event came through."""

    REST = "rest"
    SEGMENT = "segment"
    KAFKA = "kafka"


# No NUL characters: no database column can store them, so they are refused at the door.
NO_NUL = r"^[^\x00]*$"
EventId = Annotated[
    str, StringConstraints(min_length=1, max_length=EVENT_ID_MAX_LENGTH, pattern=NO_NUL)
]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


def new_event_id() -> str:
    """A fresh event id for clients that did not send one."""
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """One validated, normalised event as it travels on the events topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: EventId = Field(default_factory=new_event_id)
    tenant_id: str = Field(min_length=1)
    account_id: ExternalId | None = None
    person_id: ExternalId | None = None
    kind: EventKind
    name: EventName
    value: float = Field(default=1.0, allow_inf_nan=False)
    unit: str | None = Field(default=None, max_length=50, pattern=NO_NUL)
    properties: dict[str, Any] = Field(default_factory=dict)
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    source: EventSource

    @property
    def key(self) -> bytes:
        """Kafka message key: one account's events land in one partition, in order."""
        return partition_key(self.tenant_id, self.account_id)

    @property
    def cloudevent_type(self) -> str:
        """CloudEvents ``type``: reverse-DNS-ish name routing tools can filter on."""
        return f"dev.ampm.event.{self.kind.value}"

    def to_value(self) -> bytes:
        """Compact JSON for the Kafka message value."""
        return orjson.dumps(self.model_dump(mode="json"))

    def headers(self) -> list[Header]:
        """CloudEvents binary-mode headers for the Kafka message."""
        return [
            ("ce_id", self.id.encode()),
            ("ce_source", f"/tenants/{self.tenant_id}/{self.source.value}".encode()),
            ("ce_type", self.cloudevent_type.encode()),
            ("ce_time", timestamp(self.occurred_at).encode()),
            ("ce_specversion", CLOUDEVENTS_SPEC_VERSION.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]

    @classmethod
    def from_value(cls, value: bytes | None) -> Envelope:
        """Decode a Kafka message value; raises ``MalformedEnvelope`` naming the bad field."""
        if value is None:
            raise MalformedEnvelope("value", "the message has no value")
        try:
            # pydantic parses and validates in one pass: consumers decode every event.
            return cls.model_validate_json(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "json_invalid":
                raise MalformedEnvelope("value", f"not valid JSON: {first['msg']}") from exc
            field = ".".join(str(part) for part in first["loc"]) or "value"
            raise MalformedEnvelope(field, first["msg"]) from exc


class MalformedEnvelope(ValueError):
    """A Kafka message value is not a valid envelope; ``field`` says where and ``reason`` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def partition_key(tenant_id: str, account_id: str | None) -> bytes:
    """``tenant_id:account_id`` (account part empty while unresolved)."""
    return f"{tenant_id}:{account_id or ''}".encode()


def header_value(headers: list[Header] | tuple[Header, ...], name: str) -> str | None:
    """The first header called ``name`` decoded as UTF-8, or None."""
    for key, value in headers:
        if key == name:
            return value.decode() if value is not None else None
    return None
