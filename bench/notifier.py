"""Benchmark the notifier: webhook deliveries per second and signal-to-webhook latency.

Starts its own Kafka broker and PostgreSQL (``ampm.local``), or uses ``AMPM_DATABASE_URL`` (a
server URL; a fresh database is created on it) and ``AMPM_TEST_KAFKA_BOOTSTRAP``. Runs the
notifier (``python -m services.notifier``) and a webhook receiver (``bench/sink.py``) as
processes of their own, publishes ``--signals`` signal changes with ``--endpoints`` endpoints
registered on the receiver, and measures

- notifier: deliveries/s from the first publish to the last webhook received, and p50/p99 of
  the time from a signal's publish to each of its webhooks' arrival (one monotonic clock);
- baselines, in the same run, from this process to the same receiver, with the same bodies and
  the notifier's concurrency (``MAX_CONCURRENT_SENDS`` in flight): raw httpx, the client the
  notifier sent with until its pool proved the bottleneck, and raw aiohttp, the fastest plain
  asyncio client found on PyPI and the one it sends with now: how far the delivery path (a
  consumed signal, stored messages, leases, signatures, logged attempts) is from bare POSTs;
- the notifier's CPU time over the burst, per delivery.

The goal set: notifier >= 0.8 of the raw client, and the burst's p99 latency within 2x the
time the baseline takes for all the deliveries; both ratios are printed.

    .venv/bin/python bench/notifier.py                  # a few seconds
    .venv/bin/python bench/notifier.py --signals 2000   # longer
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaProducer
from receiver import Receiver

from ampm.local.processes import ServiceProcess
from ampm.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from services.notifier.delivery import MAX_CONCURRENT_SENDS
from shared.signals import SignalChange, SignalChangeType, SignalType
from shared.topics import Topics

JSON = {"content-type": "application/json"}


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used, from /proc."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def concurrently(bodies: list[bytes], post: Callable[[int, bytes], Awaitable[None]]) -> float:
    """POSTs/s of ``post`` over ``bodies`` with the notifier's number in flight."""
    gate = asyncio.Semaphore(MAX_CONCURRENT_SENDS)

    async def one(index: int, body: bytes) -> None:
        async with gate:
            await post(index, body)

    started = time.perf_counter()
    await asyncio.gather(*(one(i, body) for i, body in enumerate(bodies)))
    return len(bodies) / (time.perf_counter() - started)


async def httpx_baseline(url: str, bodies: list[bytes], endpoints: int) -> float:
    limits = httpx.Limits(
        max_connections=MAX_CONCURRENT_SENDS, max_keepalive_connections=MAX_CONCURRENT_SENDS
    )
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(index: int, body: bytes) -> None:
            answer = await client.post(f"{url}/ep{index % endpoints}", content=body, headers=JSON)
            answer.raise_for_status()

        return await concurrently(bodies, post)


async def aiohttp_baseline(url: str, bodies: list[bytes], endpoints: int) -> float:
    connector = aiohttp.TCPConnector(limit=MAX_CONCURRENT_SENDS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(index: int, body: bytes) -> None:
            async with session.post(f"{url}/ep{index % endpoints}", data=body, headers=JSON) as r:
                r.raise_for_status()
                await r.read()

        return await concurrently(bodies, post)


async def run(signals: int, endpoints: int) -> None:
    async with AsyncExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ampm-bench-")))
        infrastructure = await stack.enter_async_context(throwaway_infrastructure(home))
        bootstrap = infrastructure.bootstrap_servers
        database_url = await create_database(infrastructure.maintenance_url, prefix="ampm_bench")
        tenant = await create_tenant_keys(database_url, "bench")
        namespace = f"bench{uuid.uuid4().hex[:6]}."
        receiver = await stack.enter_async_context(Receiver(home))
        notifier = ServiceProcess(
            "notifier",
            {
                "AMPM_DATABASE_URL": database_url,
                "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
                "AMPM_TOPIC_NAMESPACE": namespace,
                "AMPM_TOPIC_PARTITIONS": "3",
                "AMPM_LOG_LEVEL": "warning",
                "AMPM_NOTIFIER_ALLOWED_CIDRS": "127.0.0.0/8",
            },
            home,
        )
        await notifier.start()
        stack.callback(notifier.stop)
        api = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=notifier.url,
                headers={"Authorization": f"Bearer {tenant.secret_key.plaintext}"},
            )
        )
        for index in range(endpoints):
            response = await api.post(
                "/v1/webhooks/endpoints",
                json={"url": f"{receiver.url}/ep{index}", "event_types": ["signal.raised"]},
            )
            response.raise_for_status()

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        stack.push_async_callback(producer.stop)
        topic = Topics(namespace).signals
        published: dict[str, float] = {}
        cpu_before = cpu_seconds(notifier.pid)
        started = time.monotonic()
        for index in range(signals):
            change = SignalChange(
                id=f"bench-{index}",
                type=SignalChangeType.RAISED,
                tenant_id=tenant.tenant.id,
                account_id=f"acct-{index % 50}",
                signal_id=f"sig-{index}",
                signal_type=SignalType.ADOPTION_DROP,
                evidence={"drop": 0.4},
                occurred_at=datetime.now(UTC),
            )
            published[change.id] = time.monotonic()
            await producer.send(topic, change.to_value(), key=change.key, headers=change.headers())
        await producer.flush()
        await receiver.wait_for(signals * endpoints, within_seconds=300)
        arrivals = await receiver.arrivals()
        elapsed = arrivals[-1].monotonic - started
        cpu = cpu_seconds(notifier.pid) - cpu_before
        latencies = [
            (arrival.monotonic - published[orjson.loads(arrival.body)["data"]["id"]]) * 1000
            for arrival in arrivals
        ]
        notifier_rate = len(arrivals) / elapsed

        bodies = [arrival.body for arrival in arrivals]
        await receiver.reset()
        httpx_rate = await httpx_baseline(receiver.url, bodies, endpoints)
        await receiver.reset()
        aiohttp_rate = await aiohttp_baseline(receiver.url, bodies, endpoints)
        bound = 2 * len(bodies) / httpx_rate * 1000

        print(f"signals: {signals}, endpoints: {endpoints}, deliveries: {len(bodies)}, "
              f"{MAX_CONCURRENT_SENDS} in flight; receiver in its own process")  # fmt: skip
        print(f"notifier:          {notifier_rate:>7,.0f} deliveries/s "
              "(consumed, stored, signed, sent, logged; end to end)")  # fmt: skip
        print(f"notifier CPU: {cpu:.1f} s over {elapsed:.1f} s "
              f"({cpu / elapsed:.0%} of a core, {cpu / len(bodies) * 1e3:.2f} ms per delivery)")  # fmt: skip
        print(f"baseline httpx:    {httpx_rate:>7,.0f} POSTs/s (same bodies, same receiver)")
        print(f"baseline aiohttp:  {aiohttp_rate:>7,.0f} POSTs/s")
        print(f"ratio notifier/httpx: {notifier_rate / httpx_rate:.2f} (goal >= 0.8); "
              f"notifier/aiohttp: {notifier_rate / aiohttp_rate:.2f}")  # fmt: skip
        p99 = percentile(latencies, 0.99)
        print(f"signal -> webhook latency: p50 {statistics.median(latencies):,.0f} ms, "
              f"p99 {p99:,.0f} ms (bound 2 x deliveries / httpx rate = {bound:,.0f} ms: "
              f"{'met' if p99 <= bound else 'missed'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=250)
    parser.add_argument("--endpoints", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.signals, args.endpoints))


if __name__ == "__main__":
    main()
