"""Settings of the correlation service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class CorrelationSettings(ServiceSettings):
    port: int = Field(default=8002, validation_alias="AMPM_CORRELATION_PORT")
