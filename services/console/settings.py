"""Settings of the console (environment variables prefixed ``AMPM_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings, service_env

_env = service_env("console")


class ConsoleSettings(ServiceSettings):
    port: int = Field(default=8006, validation_alias=_env("port"))
    ingest_url: str = Field(
        validation_alias=_env("ingest_url"),
        default="http://127.0.0.1:8001",
        description="Base URL of the ingest service's API.",
    )
    correlation_url: str = Field(
        validation_alias=_env("correlation_url"), default="http://127.0.0.1:8002"
    )
    equivalents_url: str = Field(
        validation_alias=_env("equivalents_url"), default="http://127.0.0.1:8003"
    )
    notifier_url: str = Field(
        validation_alias=_env("notifier_url"), default="http://127.0.0.1:8004"
    )
    session_secret: str | None = Field(
        validation_alias=_env("session_secret"),
        default=None,
        min_length=16,
        description="Seals the secret keys sessions and share links hold, and signs CSRF "
        "tokens; every console instance needs the same. Unset: a random one per process (a "
        "restart signs everyone out and breaks share links).",
    )
    session_hours: float = Field(
        validation_alias=_env("session_hours"),
        default=12,
        gt=0,
        description="How long a sign-in lasts.",
    )
    share_days: int = Field(
        validation_alias=_env("share_days"),
        default=14,
        ge=1,
        le=365,
        description="Default lifetime of a share link.",
    )
    share_max_days: int = Field(
        validation_alias=_env("share_max_days"),
        default=90,
        ge=1,
        le=365,
        description="Longest lifetime a share link may be given.",
    )
    api_timeout_seconds: float = Field(
        validation_alias=_env("api_timeout_seconds"), default=10, gt=0
    )
