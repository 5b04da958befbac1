"""The console on the real stack with the demo loaded, and a headless Chromium to look at it."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ampm.local.demo import load_scenario
from ampm.local.demo_scenario import NORTHWIND
from ampm.local.processes import ServiceProcess
from shared.tenancy.store import CreatedTenant, create_tenant
from tests.e2e.conftest import SERVICES, System, start_system, system_environment
from tests.support.waiting import eventually

CHROMIUM = "/usr/bin/chromium"
# As the probe of these machines starts Chromium: no sandbox as root, and no background
# networking, which the closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_settings_module(database_url: str, kafka_bootstrap: str) -> dict[str, Any]:
    """``base_settings`` for the whole module: one stack serves all its tests."""
    return {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_namespace": f"c{uuid.uuid4().hex[:10]}.",
        "topic_partitions": 3,
        "admin_token": "test-admin-token",
        "log_json": False,
    }


@pytest.fixture(scope="module")
async def tenant_module(sessions: async_sessionmaker[AsyncSession]) -> CreatedTenant:
    async with sessions.begin() as session:
        return await create_tenant(session, f"Demo vendor {uuid.uuid4().hex[:4]}")


@pytest.fixture(scope="module")
async def other_tenant_module(sessions: async_sessionmaker[AsyncSession]) -> CreatedTenant:
    async with sessions.begin() as session:
        return await create_tenant(session, f"Other vendor {uuid.uuid4().hex[:4]}")


@dataclass
class ConsoleStack:
    system: System
    console: ServiceProcess

    @property
    def url(self) -> str:
        return self.console.url


@pytest.fixture(scope="module")
async def console_stack(
    base_settings_module: dict[str, Any],
    tenant_module: CreatedTenant,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ConsoleStack]:
    """The four services with the demo replayed and judged, and the console reading them."""
    logs = tmp_path_factory.mktemp("console-stack")
    environment = system_environment(base_settings_module) | {
        "AMPM_CORRELATION_TAIL_IDLE_SECONDS": "1",
        "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS": "5",
        "AMPM_EQUIVALENTS_DIGEST_DELAY_SECONDS": "0",
        "AMPM_EQUIVALENTS_DIGEST_POLL_SECONDS": "1",
    }
    system = await start_system(environment, tenant_module, logs)
    console = ServiceProcess(
        "console",
        environment
        | {f"AMPM_CONSOLE_{name.upper()}_URL": system.url(name) for name in SERVICES}
        | {"AMPM_CONSOLE_SESSION_SECRET": "a-test-secret-of-enough-length"},
        logs,
    )
    try:
        urls = {name: system.url(name) for name in SERVICES}
        await asyncio.to_thread(
            load_scenario,
            urls,
            tenant_module.write_key.plaintext,
            tenant_module.secret_key.plaintext,
        )
        async with httpx.AsyncClient(headers=system.secret_headers()) as http:

            async def judged() -> bool:
                health = await http.get(f"{urls['correlation']}/v1/accounts/{NORTHWIND}/health")
                return health.status_code == 200 and bool(health.json()["judged_through"])

            await eventually(judged, deadline_seconds=120)
        await console.start()
        yield ConsoleStack(system, console)
    finally:
        console.stop()
        for service in system.services.values():
            service.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail("Debian's chromium package is needed (make test installs it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()
