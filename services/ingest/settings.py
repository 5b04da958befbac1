"""Settings of the ingest service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    port: int = Field(default=8001, validation_alias="AMPM_INGEST_PORT")
