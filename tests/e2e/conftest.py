"""The whole system as four real processes on the session's broker and database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ampm.local.processes import ServiceProcess
from shared.tenancy.store import CreatedTenant

SERVICES = ("ingest", "correlation", "equivalents", "notifier")


@dataclass
class System:
    """Running services, the environment they share, and a tenant to act as."""

    services: dict[str, ServiceProcess]
    environment: dict[str, str]
    tenant: CreatedTenant

    def url(self, service: str) -> str:
        return self.services[service].url

    def secret_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant.secret_key.plaintext}"}

    def write_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant.write_key.plaintext}"}


def system_environment(base_settings: dict[str, Any]) -> dict[str, str]:
    """``AMPM_`` variables for every service: fast retries, loopback receivers allowed."""
    return {
        "AMPM_DATABASE_URL": str(base_settings["database_url"]),
        "AMPM_KAFKA_BOOTSTRAP_SERVERS": str(base_settings["kafka_bootstrap_servers"]),
        "AMPM_TOPIC_NAMESPACE": str(base_settings["topic_namespace"]),
        "AMPM_TOPIC_PARTITIONS": "3",
        "AMPM_ADMIN_TOKEN": str(base_settings["admin_token"]),
        "AMPM_NOTIFIER_ALLOWED_CIDRS": "127.0.0.0/8",
        "AMPM_NOTIFIER_RETRY_SCHEDULE": "0,0.5,1,1,2,2,3,3,5,5",
        "AMPM_NOTIFIER_RETRY_JITTER": "0",
        "AMPM_NOTIFIER_WORKER_POLL_SECONDS": "0.2",
        "AMPM_CORRELATION_OUTBOX_POLL_SECONDS": "0.2",
    }


async def start_system(environment: dict[str, str], tenant: CreatedTenant, log_dir: Path) -> System:
    services = {name: ServiceProcess(name, environment, log_dir) for name in SERVICES}
    await asyncio.gather(*(service.start() for service in services.values()))
    return System(services, environment, tenant)


@pytest.fixture
async def system(
    base_settings: dict[str, Any], tenant: CreatedTenant, tmp_path: Path
) -> AsyncIterator[System]:
    running = await start_system(system_environment(base_settings), tenant, tmp_path)
    try:
        yield running
    finally:
        for service in running.services.values():
            service.stop()
