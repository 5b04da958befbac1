"""Soak: N minutes of mixed traffic at a set rate through all four services (not a test).

Starts its own Kafka broker and PostgreSQL (or uses AMPM_DATABASE_URL as maintenance database
and AMPM_TEST_KAFKA_BOOTSTRAP), runs the four services and a webhook receiver
(``bench/sink.py``) as processes, then sends usage and activity events plus a share of
``blocker.reported`` events whose ``signal.raised`` webhooks time the whole path. Prints consumer
lag per group, the RSS of each service at start and end, end-to-end p50/p99 from the ingest
request to the webhook's arrival, and where the time goes, hop by hop, from the timestamps the
services store (one machine, one wall clock):

  ingest ack           request sent -> ingest answered (the events are on Kafka)
  correlation picks up ingest answer -> the correlation transaction that raised the signal
                       began (``corr_outbox.created_at``: Kafka, the fetch, batches before it)
  signal published     that transaction's work and commit, and the relay's publish with every
                       replica's ack (``corr_outbox.sent_at``)
  notifier stored      published -> the notifier's transaction storing its message began
                       (``notifier_messages.created_at``; the relay stamps ``sent_at`` after the
                       acks, so the notifier may have it first: near zero)
  webhook received     stored -> the receiver had the webhook (commit, claim, sign, send)

    .venv/bin/python bench/soak.py --minutes 1 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from receiver import Receiver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ampm.local.processes import ServiceProcess  # noqa: E402
from ampm.local.stack import (  # noqa: E402
    create_database,
    create_tenant_keys,
    throwaway_infrastructure,
)
from shared.kafka import group_backlog  # noqa: E402
from shared.topics import Topics  # noqa: E402

SERVICES = ("ingest", "correlation", "equivalents", "notifier")
GROUPS = {
    "correlation": ("ampm-correlation", "events"),
    "equivalents": ("ampm-equivalents", "events"),
    "notifier": ("ampm-notifier", "signals"),
}
BATCH = 50
BLOCKER_SHARE = 0.02


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
) -> tuple[int, int, dict[str, Timed]]:
    """Send ``rate`` events/s for ``minutes``; returns (sent, refused, timed blockers)."""
    rng = random.Random(11)
    sent = refused = 0
    timed: dict[str, Timed] = {}
    deadline = time.perf_counter() + minutes * 60
    headers = {"Authorization": f"Bearer {write_key}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        while time.perf_counter() < deadline:
            second = time.perf_counter()
            remaining = rate
            while remaining > 0:
                new_blockers: dict[str, float] = {}
                events = traffic(rng, min(BATCH, remaining), new_blockers)
                posted_at = time.time()
                answer = await client.post(f"{ingest_url}/v1/events", json={"events": events})
                acked_at = time.time()
                if answer.status_code == 200:
                    sent += len(events)
                    timed.update({b: Timed(posted_at, acked_at) for b in new_blockers})
                else:
                    refused += len(events)
                remaining -= len(events)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - second)))
    return sent, refused, timed


HOPS = ("ingest ack", "correlation picks up", "signal published", "notifier stored",
        "webhook received")  # fmt: skip


@dataclass
class Timed:
    """Wall-clock times of one blocker's path, hop by hop (None: not seen)."""

    sent: float
    acked: float
    committed: float | None = None
    published: float | None = None
    stored: float | None = None
    received: float | None = None

    def hops(self) -> list[float] | None:
        """Milliseconds spent in each of ``HOPS``; None unless every point was seen."""
        points = [self.sent, self.acked, self.committed, self.published, self.stored]
        points.append(self.received)
        if any(point is None for point in points):
            return None
        times = [float(point) for point in points if point is not None]
        return [(later - earlier) * 1000 for earlier, later in itertools.pairwise(times)]


async def signal_times(database_url: str, timed: dict[str, Timed]) -> None:
    """Fill in when each blocker's signal was committed, published and stored."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            outbox = await connection.execute(
                text(
                    "SELECT payload->>'subject', payload->>'id', created_at, sent_at "
                    "FROM corr_outbox WHERE payload->>'type' = 'signal.raised' "
                    "AND payload->>'signal_type' = 'blocker_reported'"
                )
            )
            change_of: dict[str, str] = {}
            for subject, change_id, created_at, sent_at in outbox:
                if subject in timed:
                    change_of[change_id] = subject
                    timed[subject].committed = created_at.timestamp()
                    timed[subject].published = sent_at.timestamp() if sent_at else None
            messages = await connection.execute(
                text(
                    "SELECT body, created_at FROM notifier_messages "
                    "WHERE event_type = 'signal.raised'"
                )
            )
            for body, created_at in messages:
                subject = change_of.get(orjson.loads(body)["data"]["id"])
                if subject is not None:
                    timed[subject].stored = created_at.timestamp()
    finally:
        await engine.dispose()


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):6.0f} ms, p99 {p99:6.0f} ms"


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
            try:
                async with Receiver(Path(home)) as receiver:
                    secret = {"Authorization": f"Bearer {tenant.secret_key.plaintext}"}
                    async with httpx.AsyncClient(headers=secret) as client:
                        (
                            await client.post(
                                f"{services['notifier'].url}/v1/webhooks/endpoints",
                                json={"url": f"{receiver.url}/hooks"},
                            )
                        ).raise_for_status()
                    rss_start = {n: rss_mib(s.pid) for n, s in services.items()}
                    print(
                        f"soak: {args.minutes} min at {args.rate} events/s through 4 services",
                        flush=True,
                    )
                    sent, refused, timed = await drive(
                        services["ingest"].url, tenant.write_key.plaintext, args.minutes, args.rate
                    )
                    lag_at_end = await consumer_lag(bootstrap, Topics())
                    with contextlib.suppress(TimeoutError):
                        await wait_for_blockers(receiver, timed, args.drain_seconds)
                    rss_end = {n: rss_mib(s.pid) for n, s in services.items()}
                    lag_drained = await consumer_lag(bootstrap, Topics())
                    deliveries = await receiver.count()
                await signal_times(database, timed)
            finally:
                for service in services.values():
                    service.stop()
    complete = [t for t in timed.values() if t.received is not None]
    print(f"events accepted {sent} ({sent / (args.minutes * 60):.0f}/s), refused {refused}")
    print("consumer lag (messages) at end of traffic / after draining:")
    for group in GROUPS:
        print(f"  {group:<12} {lag_at_end[group]:>8} / {lag_drained[group]}")
    print("RSS MiB (start -> end):")
    for name in SERVICES:
        print(f"  {name:<12} {rss_start[name]:7.1f} -> {rss_end[name]:7.1f}")
    print(f"webhooks received {deliveries}; blocker signals timed {len(complete)}/{len(timed)}")
    if not complete:
        return
    total = [((t.received or 0) - t.sent) * 1000 for t in complete]
    print(f"ingest -> webhook: {describe(total)} (goal p99 <= 500 ms)")
    hops = [h for h in (t.hops() for t in complete) if h is not None]
    if hops:
        print("per hop:")
        for index, hop in enumerate(HOPS):
            print(f"  {hop:<21} {describe([h[index] for h in hops])}")


async def wait_for_blockers(receiver: Receiver, timed: dict[str, Timed], within: float) -> None:
    """Until every blocker's ``signal.raised`` webhook arrived, noting when each did."""
    async with asyncio.timeout(within):
        while True:
            for arrival in await receiver.arrivals():
                payload = orjson.loads(arrival.body)
                data = payload.get("data", {})
                subject = data.get("subject")
                if (
                    payload.get("type") == "signal.raised"
                    and data.get("signal_type") == "blocker_reported"
                    and subject in timed
                    and timed[subject].received is None
                ):
                    timed[subject].received = arrival.unix
            if all(t.received is not None for t in timed.values()):
                return
            await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
