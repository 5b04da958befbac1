"""Settings of the equivalents service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class EquivalentsSettings(ServiceSettings):
    port: int = Field(default=8003, validation_alias="AMPM_EQUIVALENTS_PORT")
    equivalents_consumer_group: str = Field(
        default="ampm-equivalents",
        description="Kafka consumer group of the events consumer (after the topic namespace).",
    )
    equivalents_processed_event_retention_days: float = Field(
        default=14,
        gt=0,
        description="How long event ids are remembered to skip redeliveries; keep it longer "
        "than the events topic keeps messages.",
    )
    equivalents_digest_poll_seconds: float = Field(
        default=60,
        gt=0,
        description="How often due value digests are looked for and published.",
    )
    equivalents_digest_delay_seconds: float = Field(
        default=3600,
        ge=0,
        description="How long after a period ends its digest waits for late events.",
    )
    equivalents_digest_max_backlog: int = Field(
        default=1000,
        ge=0,
        description="Events the consumer group may have left to read for digests to be written.",
    )
