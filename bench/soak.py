"""Soak: N minutes of mixed traffic at a set rate through all four services (not a test).

Starts its own Kafka broker and PostgreSQL (or uses AMPM_DATABASE_URL as maintenance database
and AMPM_TEST_KAFKA_BOOTSTRAP), runs the four services as processes, subscribes an in-process
webhook receiver, then sends usage and activity events plus a share of ``blocker.reported``
events whose ``signal.raised`` webhooks time the whole path. Prints consumer lag per group, the
RSS of each service at start and end, and end-to-end p50/p99 from ingest to webhook.

    .venv/bin/python bench/soak.py --minutes 1 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.kafka import group_backlog  # noqa: E402
from shared.local.paths import free_port  # noqa: E402
from shared.local.processes import ServiceProcess  # noqa: E402
from shared.local.stack import (  # noqa: E402
    create_database,
    create_tenant_keys,
    throwaway_infrastructure,
)
from shared.topics import Topics  # noqa: E402

SERVICES = ("ingest", "correlation", "equivalents", "notifier")
GROUPS = {
    "correlation": ("ampm-correlation", "events"),
    "equivalents": ("ampm-equivalents", "events"),
    "notifier": ("ampm-notifier", "signals"),
}
BATCH = 50
BLOCKER_SHARE = 0.02


class WebhookClock:
    """Receives webhooks and records when each blocker's ``signal.raised`` arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.deliveries = 0
        self.changed = asyncio.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def receive(request: Request) -> Response:
            payload = orjson.loads(await request.body())
            self.deliveries += 1
            data = payload.get("data", {})
            if payload.get("type") == "signal.raised" and data.get("signal_type") == (
                "blocker_reported"
            ):
                self.arrived.setdefault(data["subject"], time.perf_counter())
                self.changed.set()
            return Response(status_code=204)

        return app


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process from /proc, in MiB."""
    if pid is None:
        return float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def consumer_lag(bootstrap: str, topics: Topics) -> dict[str, int]:
    """Messages each service's group has not committed yet, summed over partitions."""
    return {
        service: await group_backlog(bootstrap, group, getattr(topics, topic_attr))
        for service, (group, topic_attr) in GROUPS.items()
    }


def traffic(rng: random.Random, count: int, blockers: dict[str, float]) -> list[dict[str, object]]:
    """A batch of mixed events; blocker ids get their send time recorded by the caller."""
    now = datetime.now(UTC).isoformat()
    events: list[dict[str, object]] = []
    for _ in range(count):
        account = f"soak-{rng.randrange(20)}"
        roll = rng.random()
        if roll < BLOCKER_SHARE:
            blocker = uuid.uuid4().hex[:12]
            blockers[blocker] = 0.0
            events.append(
                {
                    "kind": "lifecycle",
                    "name": "blocker.reported",
                    "account_id": account,
                    "occurred_at": now,
                    "properties": {"blocker_id": blocker},
                }
            )
        elif roll < 0.2:
            events.append(
                {
                    "kind": "activity",
                    "name": "new_contacts_identified",
                    "account_id": account,
                    "value": rng.randint(1, 5),
                    "occurred_at": now,
                }
            )
        else:
            events.append(
                {
                    "kind": "usage",
                    "name": "transactions_processed",
                    "account_id": account,
                    "person_id": f"u-{rng.randrange(50)}",
                    "value": rng.randint(1, 20),
                    "occurred_at": now,
                }
            )
    return events


async def drive(
    ingest_url: str, write_key: str, minutes: float, rate: int
) -> tuple[int, int, dict[str, float]]:
    """Send ``rate`` events/s for ``minutes``; returns (sent, refused, blocker send times)."""
    rng = random.Random(11)
    sent = refused = 0
    blockers_sent: dict[str, float] = {}
    deadline = time.perf_counter() + minutes * 60
    headers = {"Authorization": f"Bearer {write_key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        while time.perf_counter() < deadline:
            second = time.perf_counter()
            remaining = rate
            while remaining > 0:
                new_blockers: dict[str, float] = {}
                events = traffic(rng, min(BATCH, remaining), new_blockers)
                posted_at = time.perf_counter()
                answer = await client.post(f"{ingest_url}/v1/events", json={"events": events})
                if answer.status_code == 200:
                    sent += len(events)
                    blockers_sent.update(dict.fromkeys(new_blockers, posted_at))
                else:
                    refused += len(events)
                remaining -= len(events)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - second)))
    return sent, refused, blockers_sent


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ampm-soak-") as home:
        async with throwaway_infrastructure(Path(home)) as infrastructure:
            bootstrap = infrastructure.bootstrap_servers
            database = await create_database(infrastructure.maintenance_url, prefix="ampm_soak")
            tenant = await create_tenant_keys(database, "soak")
            environment = {
                "AMPM_DATABASE_URL": database,
                "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "AMPM_NOTIFIER_ALLOWED_CIDRS": "127.0.0.1/32",
                "AMPM_LOG_LEVEL": "warning",
                "AMPM_INGEST_RATE_LIMIT_PER_SECOND": str(max(1000, args.rate * 4)),
                "AMPM_INGEST_RATE_LIMIT_BURST": str(max(2000, args.rate * 8)),
            }
            services = {name: ServiceProcess(name, environment, Path(home)) for name in SERVICES}
            await asyncio.gather(*(s.start() for s in services.values()))
            clock = WebhookClock()
            port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(clock.app(), host="127.0.0.1", port=port, log_level="warning")
            )
            server_task = asyncio.create_task(server.serve())
            try:
                secret = {"Authorization": f"Bearer {tenant.secret_key.plaintext}"}
                async with httpx.AsyncClient(headers=secret) as client:
                    (
                        await client.post(
                            f"{services['notifier'].url}/v1/webhooks/endpoints",
                            json={"url": f"http://127.0.0.1:{port}/hooks"},
                        )
                    ).raise_for_status()
                rss_start = {n: rss_mib(s.pid) for n, s in services.items()}
                print(
                    f"soak: {args.minutes} min at {args.rate} events/s through 4 services",
                    flush=True,
                )
                sent, refused, blockers = await drive(
                    services["ingest"].url, tenant.write_key.plaintext, args.minutes, args.rate
                )
                lag_at_end = await consumer_lag(bootstrap, Topics())
                async with asyncio.timeout(args.drain_seconds):
                    while len(clock.arrived) < len(blockers):
                        clock.changed.clear()
                        await clock.changed.wait()
                rss_end = {n: rss_mib(s.pid) for n, s in services.items()}
                lag_drained = await consumer_lag(bootstrap, Topics())
            except TimeoutError:
                rss_end = {n: rss_mib(s.pid) for n, s in services.items()}
                lag_drained = await consumer_lag(bootstrap, Topics())
            finally:
                server.should_exit = True
                await server_task
                for service in services.values():
                    service.stop()
    latencies = sorted(
        (clock.arrived[b] - at) * 1000 for b, at in blockers.items() if b in clock.arrived
    )
    print(f"events accepted {sent} ({sent / (args.minutes * 60):.0f}/s), refused {refused}")
    print("consumer lag (messages) at end of traffic / after draining:")
    for group in GROUPS:
        print(f"  {group:<12} {lag_at_end[group]:>8} / {lag_drained[group]}")
    print("RSS MiB (start -> end):")
    for name in SERVICES:
        print(f"  {name:<12} {rss_start[name]:7.1f} -> {rss_end[name]:7.1f}")
    print(
        f"webhooks received {clock.deliveries}; blocker signals timed "
        f"{len(latencies)}/{len(blockers)}"
    )
    if latencies:
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"ingest -> webhook: p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
