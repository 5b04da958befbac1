"""``make dev``: the broker, the four services, the console and a demo tenant in one
supervised process.

Ctrl-C (or SIGTERM) stops every service, then the broker if this process started it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time

from ampm.local import kafka as local_kafka
from ampm.local.demo import DEMO_ACCOUNTS, already_loaded, load_scenario, subscribe_receiver
from ampm.local.processes import ServiceProcess
from ampm.migrate import upgrade
from shared.db import create_engine, create_session_factory
from shared.service import bootstrap_topics
from shared.settings import ServiceSettings
from shared.tenancy.store import CreatedTenant, ensure_tenant

SERVICES: dict[str, int] = {
    "ingest": 8001,
    "correlation": 8002,
    "equivalents": 8003,
    "notifier": 8004,
}
DEMO_TENANT_ID = "tn_demo"
RECEIVER_PORT = 8005
CONSOLE_PORT = 8006


def _service_env(settings: ServiceSettings) -> dict[str, str]:
    env = {
        "AMPM_DATABASE_URL": settings.database_url,
        "AMPM_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "AMPM_LOG_JSON": os.environ.get("AMPM_LOG_JSON", "false"),
        "AMPM_ADMIN_TOKEN": settings.admin_token or "",
        # The demo receiver runs on loopback, which the SSRF guard refuses unless allowlisted.
        "AMPM_NOTIFIER_ALLOWED_CIDRS": os.environ.get(
            "AMPM_NOTIFIER_ALLOWED_CIDRS", "127.0.0.1/32"
        ),
        # The replayed history ends last Sunday, so its last week is judged once the accounts
        # go quiet, and its digests are written once it ended: minutes, not the hour of
        # production, so a newcomer sees both while watching.
        "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS": os.environ.get(
            "AMPM_CORRELATION_SWEEP_INTERVAL_SECONDS", "20"
        ),
        "AMPM_CORRELATION_TAIL_IDLE_SECONDS": os.environ.get(
            "AMPM_CORRELATION_TAIL_IDLE_SECONDS", "10"
        ),
        "AMPM_EQUIVALENTS_DIGEST_POLL_SECONDS": os.environ.get(
            "AMPM_EQUIVALENTS_DIGEST_POLL_SECONDS", "5"
        ),
    }
    return env


async def _start_services(settings: ServiceSettings) -> list[ServiceProcess]:
    env = _service_env(settings)
    services = [
        ServiceProcess(
            name, env, port=int(os.environ.get(f"AMPM_{name.upper()}_PORT", str(default_port)))
        )
        for name, default_port in SERVICES.items()
    ]
    await asyncio.gather(*(service.start() for service in services))
    # The console reads the four services through their APIs: it starts once they answer.
    console = ServiceProcess(
        "console",
        env
        | {f"AMPM_CONSOLE_{service.name.upper()}_URL": service.url for service in services}
        | {"AMPM_CONSOLE_SESSION_SECRET": secrets.token_urlsafe(32)},
        port=int(os.environ.get("AMPM_CONSOLE_PORT", str(CONSOLE_PORT))),
    )
    await console.start()
    return [*services, console]


async def _demo_tenant(settings: ServiceSettings) -> CreatedTenant:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            return await ensure_tenant(session, DEMO_TENANT_ID, "Demo vendor")
    finally:
        await engine.dispose()


def _load_demo(services: list[ServiceProcess], demo: CreatedTenant) -> ServiceProcess:
    """Subscribe the receiver, then replay the scenario unless an earlier run did."""
    urls = {service.name: service.url for service in services}
    secret_key = demo.secret_key.plaintext
    receiver_url = f"http://127.0.0.1:{RECEIVER_PORT}/webhooks"
    secret = subscribe_receiver(urls["notifier"], secret_key, receiver_url)
    receiver = ServiceProcess(
        "receiver",
        {"AMPM_DEMO_WEBHOOK_SECRET": secret, "AMPM_DEMO_RECEIVER_PORT": str(RECEIVER_PORT)},
        port=RECEIVER_PORT,
        module="ampm.local.receiver",
        ready_path="/docs",
    )
    asyncio.run(receiver.start())
    if already_loaded(urls["correlation"], secret_key):
        print("demo scenario already loaded (delete ./ampm.db* to replay it)")
    else:
        print("replaying the demo scenario through the ingest API ...", flush=True)
        accepted = load_scenario(urls, demo.write_key.plaintext, secret_key)
        print(f"demo scenario loaded: {accepted} events accepted", flush=True)
    return receiver


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
    services: list[ServiceProcess] = []
    stopping = False

    def _request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        upgrade(settings.database_url)
        asyncio.run(bootstrap_topics(settings))
        services = asyncio.run(_start_services(settings))
        demo = asyncio.run(_demo_tenant(settings))
        services.append(_load_demo(services, demo))
        _print_welcome(services, demo, settings)
        while not stopping:
            for service in services:
                code = service.exited()
                if code is not None:
                    print(f"{service.name} exited with {code}; stopping")
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("stopping services ...")
        for service in services:
            service.stop()
        if started_broker:
            broker.stop()
            print("kafka stopped")


def _print_welcome(
    services: list[ServiceProcess], demo: CreatedTenant, settings: ServiceSettings
) -> None:
    print("\nampm is running (Ctrl-C stops everything)\n")
    for service in services:
        print(f"  {service.name:<12} {service.url}   (docs: {service.url}/docs)")
    print(f"\n  kafka        {settings.kafka_bootstrap_servers}")
    print(f"  database     {settings.database_url}")
    print(f"  admin token  {settings.admin_token}\n")
    print(f"demo tenant {demo.tenant.id} (new keys each start; shown once):")
    print(f"  write key    {demo.write_key.plaintext}")
    print(f"  secret key   {demo.secret_key.plaintext}\n")
    console = next(service for service in services if service.name == "console")
    print(f"open the console at {console.url} and sign in with the secret key above")
    print(f"demo accounts: {', '.join(DEMO_ACCOUNTS)}; try (README: 'The demo'):")
    print(f"  export SECRET_KEY={demo.secret_key.plaintext}")
    print(
        '  curl localhost:8002/v1/accounts/northwind-leads/ampm -H "Authorization: Bearer $SECRET_KEY"'
    )
    print("webhooks the notifier sends are printed below as 'webhook verified ...'\n", flush=True)
