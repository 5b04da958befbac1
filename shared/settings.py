"""Settings every service reads; each service subclasses ``ServiceSettings`` once."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SQLITE_DEFAULT_URL = "sqlite+aiosqlite:///./ampm.db"


def service_env(service: str) -> Callable[[str], str]:
    """How a service names the environment variable of each of its own settings: field
    ``consumer_group`` of the notifier is ``AMPM_NOTIFIER_CONSUMER_GROUP``. One convention
    for every service; the field name still works as a keyword (``populate_by_name``)."""

    def env(name: str) -> str:
        return f"AMPM_{service}_{name}".upper()

    return env


class ServiceSettings(BaseSettings):
    """Environment variables prefixed ``AMPM_``; the README lists every one."""

    model_config = SettingsConfigDict(env_prefix="AMPM_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default=SQLITE_DEFAULT_URL,
        description="SQLAlchemy async URL: postgresql+asyncpg://... in production and tests.",
    )
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092")
    topic_namespace: str = Field(
        default="",
        description="Prefix for every topic name, so several deployments can share a cluster.",
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    kafka_request_timeout_ms: int = Field(default=10_000, ge=100)
    producer_stuck_after_seconds: float = Field(
        default=15.0,
        gt=0,
        description="A producer that failed every publish this long is replaced (a fatal state "
        "such as an out-of-order sequence replaces it at once); /readyz fails meanwhile.",
    )
    host: str = "127.0.0.1"
    log_level: str = "info"
    log_json: bool = True
    key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a service caches a key's tenant: a revoked key may still be "
        "accepted this long by an instance other than the one that revoked it.",
    )
    admin_token: str | None = Field(
        default=None, description="Bearer token for tenant management; unset disables it."
    )
    public_base_url: str | None = Field(
        default=None, description="Base URL that links in recommendations point at."
    )
