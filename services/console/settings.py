"""Settings of the console (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    port: int = Field(default=8006, validation_alias="AMPM_CONSOLE_PORT")
    console_ingest_url: str = Field(
        default="http://127.0.0.1:8001", description="Base URL of the ingest service's API."
    )
    console_correlation_url: str = Field(default="http://127.0.0.1:8002")
    console_equivalents_url: str = Field(default="http://127.0.0.1:8003")
    console_notifier_url: str = Field(default="http://127.0.0.1:8004")
    console_session_secret: str | None = Field(
        default=None,
        min_length=16,
        description="Seals the secret keys sessions and share links hold, and signs CSRF "
        "tokens; every console instance needs the same. Unset: a random one per process (a "
        "restart signs everyone out and breaks share links).",
    )
    console_session_hours: float = Field(default=12, gt=0, description="How long a sign-in lasts.")
    console_share_days: int = Field(
        default=14, ge=1, le=365, description="Default lifetime of a share link."
    )
    console_share_max_days: int = Field(
        default=90, ge=1, le=365, description="Longest lifetime a share link may be given."
    )
    console_api_timeout_seconds: float = Field(default=10, gt=0)
