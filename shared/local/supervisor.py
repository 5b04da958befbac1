"""``make dev``: the broker, the four services and a demo tenant in one supervised process.

Ctrl-C (or SIGTERM) stops every service, then the broker if this process started it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

from shared.db import create_engine, create_session_factory
from shared.local import kafka as local_kafka
from shared.migrate import upgrade
from shared.service import bootstrap_topics
from shared.settings import ServiceSettings
from shared.tenant_store import CreatedTenant, ensure_tenant

SERVICES: dict[str, int] = {
    "ingest": 8001,
    "correlation": 8002,
    "equivalents": 8003,
    "notifier": 8004,
}
DEMO_TENANT_ID = "tn_demo"
READY_TIMEOUT_SECONDS = 60.0


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _service_env(settings: ServiceSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AMPM_DATABASE_URL=settings.database_url,
        AMPM_KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        AMPM_LOG_JSON=os.environ.get("AMPM_LOG_JSON", "false"),
        AMPM_ADMIN_TOKEN=settings.admin_token or "",
    )
    for name, port in SERVICES.items():
        env.setdefault(f"AMPM_{name.upper()}_PORT", str(port))
    return env


def _start_services(settings: ServiceSettings) -> list[RunningService]:
    env = _service_env(settings)
    running = []
    for name in SERVICES:
        port = int(env[f"AMPM_{name.upper()}_PORT"])
        process = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env)
        running.append(RunningService(name, port, process))
    return running


def _wait_ready(services: list[RunningService]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = list(services)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for service in list(pending):
                if service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} exited with {service.process.returncode}")
                try:
                    if client.get(f"{service.url}/readyz").status_code == 200:
                        pending.remove(service)
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                names = ", ".join(s.name for s in pending)
                raise RuntimeError(f"not ready after {READY_TIMEOUT_SECONDS:.0f}s: {names}")
            time.sleep(0.25)


def _stop(services: list[RunningService]) -> None:
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    for service in services:
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.process.kill()


async def _demo_tenant(settings: ServiceSettings) -> CreatedTenant:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            return await ensure_tenant(session, DEMO_TENANT_ID, "Demo vendor")
    finally:
        await engine.dispose()


def run_local_system(settings: ServiceSettings) -> int:
    """Start everything, print how to reach it, and supervise until interrupted."""
    if not settings.admin_token:
        settings = settings.model_copy(update={"admin_token": secrets.token_urlsafe(24)})
    port = int(settings.kafka_bootstrap_servers.rsplit(":", 1)[1])
    broker = local_kafka.dev_broker(port=port, controller_port=port + 1)
    local_kafka.fetch_jars()
    started_broker = local_kafka.read_pid(broker.config.pid_file) is None
    if started_broker:
        broker.start()
        seconds = asyncio.run(broker.wait_ready())
        print(f"kafka ready on {broker.config.bootstrap_servers} in {seconds:.1f}s")
    services: list[RunningService] = []
    stopping = False

    def _request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        upgrade(settings.database_url)
        asyncio.run(bootstrap_topics(settings))
        services = _start_services(settings)
        _wait_ready(services)
        demo = asyncio.run(_demo_tenant(settings))
        _print_welcome(services, demo, settings)
        while not stopping:
            for service in services:
                if service.process.poll() is not None:
                    print(f"{service.name} exited with {service.process.returncode}; stopping")
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("stopping services ...")
        _stop(services)
        if started_broker:
            broker.stop()
            print("kafka stopped")


def _print_welcome(
    services: list[RunningService], demo: CreatedTenant, settings: ServiceSettings
) -> None:
    print("\nampm is running (Ctrl-C stops everything)\n")
    for service in services:
        print(f"  {service.name:<12} {service.url}   (docs: {service.url}/docs)")
    print(f"\n  kafka        {settings.kafka_bootstrap_servers}")
    print(f"  database     {settings.database_url}")
    print(f"  admin token  {settings.admin_token}\n")
    print(f"demo tenant {demo.tenant.id} (new keys each start; shown once):")
    print(f"  write key    {demo.write_key.plaintext}")
    print(f"  secret key   {demo.secret_key.plaintext}\n", flush=True)
