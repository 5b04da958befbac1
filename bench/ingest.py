"""Benchmark the ingest service against the raw Kafka producer on the same local broker.

    .venv/bin/python bench/ingest.py                  # a few seconds per phase
    .venv/bin/python bench/ingest.py --seconds 20     # longer runs
    .venv/bin/python bench/ingest.py --profile        # pyinstrument profile of the server

(a) raw aiokafka producer throughput: the same envelopes, encoded (``to_value`` + CloudEvents
headers) and sent with the shared producer settings (acks=all, idempotent) by as many concurrent
tasks as there are HTTP clients, each sending 100 and awaiting every acknowledgement;
(b) HTTP ingest throughput: batches of 100 native events from concurrent clients against one
uvicorn worker (``python -m services.ingest`` in a subprocess), then single-event requests/s with
p50/p99 latency. Prints events/s for both and the ratio (b)/(a).

Starts its own throwaway broker and a SQLite database in a temporary directory, unless
``AMPM_KAFKA_BOOTSTRAP_SERVERS`` / ``AMPM_DATABASE_URL`` point at existing ones.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from load import closed_loop, wait_up

from ampm.local.paths import free_port
from ampm.local.stack import create_tenant_keys, throwaway_kafka
from ampm.migrate import upgrade
from shared.clock import utc_now
from shared.events import Envelope, EventKind, EventSource
from shared.kafka import create_producer, ensure_topics
from shared.settings import ServiceSettings
from shared.topics import Topics

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100


def native_event(i: int) -> dict[str, object]:
    return {
        "kind": "activity",
        "name": "new_contacts_identified",
        "account_id": f"account-{i % 50}",
        "person_id": f"person-{i % 500}",
        "value": 38,
        "unit": "contacts",
        "properties": {"category": "process", "campaign": "q4-outbound"},
    }


def envelope_of(event: dict[str, object], tenant_id: str) -> Envelope:
    return Envelope(
        tenant_id=tenant_id,
        kind=EventKind(str(event["kind"])),
        name=str(event["name"]),
        account_id=str(event["account_id"]),
        person_id=str(event["person_id"]),
        value=38.0,
        unit="contacts",
        properties=dict(event["properties"]),  # type: ignore[call-overload]
        occurred_at=utc_now(),
        received_at=utc_now(),
        source=EventSource.REST,
    )


async def raw_producer(
    settings: ServiceSettings, topic: str, tenant_id: str, clients: int, seconds: float
) -> float:
    """Events/s of the bare producer used the way ingest uses it: ``clients`` concurrent tasks
    each encode 100 envelopes, send them and await every acknowledgement, in a loop."""
    producer = create_producer(settings, client_id="bench-raw")
    await producer.start()
    envelopes = [envelope_of(native_event(i), tenant_id) for i in range(BATCH)]
    sent = 0

    async def client(until: float) -> None:
        nonlocal sent
        while time.perf_counter() < until:
            futures = [
                await producer.send(topic, value=e.to_value(), key=e.key, headers=e.headers())
                for e in envelopes
            ]
            await asyncio.gather(*futures)
            sent += len(envelopes)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(clients)))
        return sent / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def http_batches(url: str, key: str, clients: int, seconds: float) -> float:
    """Events/s through ``POST /v1/events`` with batches of 100 from concurrent clients."""
    body = orjson.dumps({"events": [native_event(i) for i in range(BATCH)]})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    requests, _, _ = await closed_loop(
        url, "/v1/events", body, headers, clients=clients, seconds=seconds
    )
    return requests * BATCH


async def http_singles(
    url: str, key: str, clients: int, seconds: float
) -> tuple[float, float, float]:
    """Requests/s of single-event requests and their p50/p99 latency in milliseconds."""
    body = orjson.dumps(native_event(0))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return await closed_loop(url, "/v1/events", body, headers, clients=clients, seconds=seconds)


def start_server(env: dict[str, str], profile: Path | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "services.ingest"]
    if profile is not None:
        command = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(profile),
                   "-m", "services.ingest"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def run(args: argparse.Namespace, workdir: Path) -> None:
    async with throwaway_kafka(workdir, variable="AMPM_KAFKA_BOOTSTRAP_SERVERS") as (bootstrap, _):
        database_url = os.environ.get("AMPM_DATABASE_URL")
        if database_url is None:
            database_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            await asyncio.to_thread(upgrade, database_url)  # alembic runs its own loop
        namespace = f"bench{uuid.uuid4().hex[:6]}."
        settings = ServiceSettings(
            kafka_bootstrap_servers=bootstrap, database_url=database_url, topic_namespace=namespace
        )
        topics = Topics(namespace)
        await ensure_topics(bootstrap, topics.all(), partitions=6, replication_factor=1)
        created = await create_tenant_keys(database_url, f"bench-{uuid.uuid4().hex[:6]}")
        tenant_id, key = created.tenant.id, created.write_key.plaintext

        # Warm-up: the broker's JIT and the topics' metadata, so phase (a) is not penalised.
        await raw_producer(settings, topics.events, tenant_id, args.clients, 1.0)
        raw = await raw_producer(settings, topics.events, tenant_id, args.clients, args.seconds)
        print(f"(a) raw aiokafka producer:       {raw:>9,.0f} events/s "
              f"({args.clients} concurrent tasks, batches of {BATCH})")  # fmt: skip

        port = free_port()
        env = {
            **os.environ,
            "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "AMPM_DATABASE_URL": database_url,
            "AMPM_TOPIC_NAMESPACE": namespace,
            "AMPM_INGEST_PORT": str(port),
            "AMPM_INGEST_RAW_CONSUMER_ENABLED": "false",
            "AMPM_INGEST_RATE_LIMIT_PER_SECOND": "10000000",
            "AMPM_INGEST_RATE_LIMIT_BURST": "10000000",
            "AMPM_LOG_LEVEL": "warning",
        }
        server = start_server(env, args.profile)
        try:
            url = f"http://127.0.0.1:{port}"
            await wait_up(url, server, "ingest")
            await http_singles(url, key, 2, 0.5)  # warm-up: key cache, connections, metadata
            batches = await http_batches(url, key, args.clients, args.seconds)
            print(f"(b) HTTP ingest, batches of {BATCH}: {batches:>9,.0f} events/s "
                  f"({args.clients} concurrent clients, 1 uvicorn worker)")  # fmt: skip
            singles, p50, p99 = await http_singles(url, key, args.clients, args.seconds)
            print(f"    single-event requests:      {singles:>9,.0f} requests/s "
                  f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms)")  # fmt: skip
            print(f"ratio (b)/(a): {batches / raw:.2f}  (target >= 0.5)")
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
        if args.profile is not None:
            print(f"server profile written to {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="?",
        const=Path("ingest-profile.txt"),
        default=None,
        help="profile the server with pyinstrument (text report to this file)",
    )
    args = parser.parse_args()
    # The broker's readiness probe logs every refused connection while the JVM starts.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="ampm-bench-") as workdir:
        asyncio.run(run(args, Path(workdir)))


if __name__ == "__main__":
    main()
