"""Settings of the notifier service (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    port: int = Field(default=8004, validation_alias="AMPM_NOTIFIER_PORT")
