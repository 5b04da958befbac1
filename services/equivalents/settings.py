"""Settings of the equivalents service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_env

_env = service_env("equivalents")


class EquivalentsSettings(ServiceSettings):
    port: int = Field(default=8003, validation_alias=_env("port"))
    consumer_group: str = Field(
        validation_alias=_env("consumer_group"),
        default="ampm-equivalents",
        description="Kafka consumer group of the events consumer (after the topic namespace).",
    )
    processed_event_retention_days: float = Field(
        validation_alias=_env("processed_event_retention_days"),
        default=14,
        gt=0,
        description="How long event ids are remembered to skip redeliveries; keep it longer "
        "than the events topic keeps messages.",
    )
    digest_poll_seconds: float = Field(
        validation_alias=_env("digest_poll_seconds"),
        default=60,
        gt=0,
        description="How often due value digests are looked for and published.",
    )
    digest_delay_seconds: float = Field(
        validation_alias=_env("digest_delay_seconds"),
        default=3600,
        ge=0,
        description="How long after a period ends its digest waits for late events.",
    )
    digest_max_backlog: int = Field(
        validation_alias=_env("digest_max_backlog"),
        default=1000,
        ge=0,
        description="Events the consumer group may have left to read for digests to be written.",
    )
