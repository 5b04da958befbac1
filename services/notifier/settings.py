"""Settings of the notifier service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.notifier.schedule import DEFAULT_DELAYS_SECONDS, DEFAULT_JITTER, RetrySchedule
from services.notifier.ssrf import IPNetwork, parse_allowlist
from shared.settings import ServiceSettings, service_env

# Where account links point when AMPM_PUBLIC_BASE_URL is unset: the correlation service,
# which serves the account's AM/PM view.
DEFAULT_AMPM_BASE_URL = "http://127.0.0.1:8002"


_env = service_env("notifier")


class NotifierSettings(ServiceSettings):
    port: int = Field(default=8004, validation_alias=_env("port"))
    consumer_group: str = Field(
        default="ampm-notifier",
        validation_alias=_env("consumer_group"),
        description="Kafka consumer group of the signals and digests consumer (after the "
        "topic namespace).",
    )
    allowed_cidrs: str = Field(
        default="",
        validation_alias=_env("allowed_cidrs"),
        description="Comma-separated CIDRs webhooks may reach despite the SSRF guard.",
    )
    retry_schedule: str = Field(
        default=",".join(f"{s:g}" for s in DEFAULT_DELAYS_SECONDS),
        validation_alias=_env("retry_schedule"),
        description="Comma-separated delays in seconds before each attempt (the first is 0).",
    )
    retry_jitter: float = Field(
        default=DEFAULT_JITTER, ge=0, lt=1, validation_alias=_env("retry_jitter")
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, validation_alias=_env("webhook_timeout_seconds")
    )
    webhook_ca_file: Path | None = Field(
        default=None,
        description="PEM file of certificate authorities to trust for webhook endpoints, "
        "besides the system's (a CSM tool behind a private CA)",
        validation_alias=_env("webhook_ca_file"),
    )
    disable_after_seconds: float = Field(
        default=5 * 24 * 3600.0, gt=0, validation_alias=_env("disable_after_seconds")
    )
    rotation_grace_seconds: float = Field(
        default=24 * 3600.0, ge=0, validation_alias=_env("rotation_grace_seconds")
    )
    worker_poll_seconds: float = Field(
        default=1.0, gt=0, validation_alias=_env("worker_poll_seconds")
    )
    worker_batch_size: int = Field(default=100, ge=1, validation_alias=_env("worker_batch_size"))
    processed_message_retention_days: float = Field(
        default=14,
        gt=0,
        validation_alias=_env("processed_message_retention_days"),
        description="How long signal change and digest ids are remembered to skip "
        "redeliveries; keep it longer than the signals and digests topics keep messages.",
    )

    def schedule(self) -> RetrySchedule:
        """The retry schedule the delivery worker follows."""
        delays = [float(part) for part in self.retry_schedule.split(",") if part.strip()]
        return RetrySchedule.from_seconds(delays, self.retry_jitter)

    def allowlist(self) -> tuple[IPNetwork, ...]:
        """CIDRs that pass the SSRF guard whatever their kind (tests: 127.0.0.0/8)."""
        return parse_allowlist(self.allowed_cidrs.split(","))

    def ampm_base_url(self) -> str:
        """Base of the links recommendations carry."""
        return self.public_base_url or DEFAULT_AMPM_BASE_URL

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery stays invisible to other workers: outlasts one send."""
        return self.webhook_timeout_seconds * 2 + 15
