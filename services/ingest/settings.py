"""Settings of the ingest service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, Field, model_validator

from services.ingest.event_time import EARLIEST, MAX_AHEAD, EventTimeWindow
from services.ingest.native import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENTS
from services.ingest.segment import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_REQUEST_BYTES
from shared.settings import ServiceSettings, service_env

_env = service_env("ingest")


class IngestSettings(ServiceSettings):
    """Limits, rate limits, backpressure and the raw-topic consumer of the ingest service."""

    port: int = Field(default=8001, validation_alias=_env("port"))
    native_max_events: int = Field(
        default=DEFAULT_MAX_EVENTS, ge=1, validation_alias=_env("native_max_events")
    )
    native_max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1, validation_alias=_env("native_max_body_bytes")
    )
    segment_max_message_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1,
        validation_alias=_env("segment_max_message_bytes"),
    )
    segment_max_request_bytes: int = Field(
        default=DEFAULT_MAX_REQUEST_BYTES,
        ge=1,
        validation_alias=_env("segment_max_request_bytes"),
    )
    raw_max_value_bytes: int = Field(
        default=DEFAULT_MAX_MESSAGE_BYTES,
        ge=1,
        validation_alias=_env("raw_max_value_bytes"),
        description="Largest raw-topic record value; larger ones are dead-lettered.",
    )
    publish_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=_env("publish_timeout_seconds"),
        description="How long a request waits for Kafka's acks=all before answering 503.",
    )
    retry_after_seconds: int = Field(default=5, ge=1, validation_alias=_env("retry_after_seconds"))
    rate_limit_per_second: float = Field(
        default=5_000.0,
        gt=0,
        validation_alias=_env("rate_limit_per_second"),
        description="Events per second per tenant, per instance (token bucket refill rate).",
    )
    rate_limit_burst: float = Field(
        default=20_000.0,
        gt=0,
        validation_alias=_env("rate_limit_burst"),
        description="Events a tenant may send at once (bucket size).",
    )
    occurred_at_earliest: AwareDatetime = Field(
        default=EARLIEST,
        validation_alias=_env("occurred_at_earliest"),
        description="An occurred_at before this is refused (422 on occurred_at; Segment: DLQ).",
    )
    occurred_at_max_ahead_seconds: float = Field(
        default=MAX_AHEAD.total_seconds(),
        ge=0,
        validation_alias=_env("occurred_at_max_ahead_seconds"),
        description="How far past the server's clock an occurred_at may be (after Segment's "
        "skew correction).",
    )
    cors_allow_origins: str = Field(
        default="*",
        validation_alias=_env("cors_allow_origins"),
        description="Comma-separated origins allowed to send events from a browser (write-key "
        "routes only; '*' by default, as write keys are public).",
    )
    raw_consumer_enabled: bool = Field(
        default=True,
        validation_alias=_env("raw_consumer_enabled"),
        description="Consume the raw topic (asynchronous ingestion) in this instance.",
    )
    raw_consumer_group: str = Field(
        default="ampm-ingest-raw", validation_alias=_env("raw_consumer_group")
    )

    @property
    def event_time_window(self) -> EventTimeWindow:
        """The accepted range of occurred_at."""
        return EventTimeWindow(
            self.occurred_at_earliest, timedelta(seconds=self.occurred_at_max_ahead_seconds)
        )

    @model_validator(mode="after")
    def _burst_holds_a_full_batch(self) -> IngestSettings:
        # A native batch costs one token per event; a bucket smaller than the largest batch
        # would refuse that batch forever.
        if self.rate_limit_burst < self.native_max_events:
            raise ValueError("AMPM_INGEST_RATE_LIMIT_BURST must be at least the native max events")
        return self
