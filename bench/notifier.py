"""Benchmark the notifier: webhook deliveries per second and signal-to-webhook latency.

Starts its own Kafka broker and PostgreSQL (``shared.local``), or uses ``AMPM_DATABASE_URL`` (a
server URL; a fresh database is created on it) and ``AMPM_TEST_KAFKA_BOOTSTRAP``. Publishes
``--signals`` signal changes to the signals topic with ``--endpoints`` endpoints registered on a
local receiver, and measures

- notifier: deliveries/s from the first publish to the last webhook received, and p50/p99 of
  the time from a signal's publish to each of its webhooks' arrival;
- baseline: raw httpx POSTs of the same bodies to the same receiver, with the same concurrency
  as the delivery worker, in the same run.

    .venv/bin/python bench/notifier.py                  # a few seconds
    .venv/bin/python bench/notifier.py --signals 2000   # longer
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response

from services.notifier.app import create_app
from services.notifier.delivery import MAX_CONCURRENT_SENDS
from services.notifier.settings import NotifierSettings
from shared.local.paths import free_port
from shared.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from shared.signals import SignalChange, SignalChangeType, SignalType
from shared.topics import Topics


class Sink:
    """A receiver that answers 204 and notes when each webhook arrived."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self.expected = 0
        self.complete = asyncio.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def receive(request: Request) -> Response:
            self.arrivals.append((time.perf_counter(), await request.body()))
            if len(self.arrivals) >= self.expected:
                self.complete.set()
            return Response(status_code=204)

        return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(signals: int, endpoints: int) -> None:
    async with AsyncExitStack() as stack:
        home = stack.enter_context(tempfile.TemporaryDirectory(prefix="ampm-bench-"))
        infrastructure = await stack.enter_async_context(throwaway_infrastructure(Path(home)))
        bootstrap = infrastructure.bootstrap_servers
        database_url = await create_database(infrastructure.maintenance_url, prefix="ampm_bench")
        tenant = await create_tenant_keys(database_url, "bench")

        settings = NotifierSettings(
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            topic_namespace=f"bench{uuid.uuid4().hex[:6]}.",
            topic_partitions=3,
            log_json=False,
            log_level="warning",
            notifier_allowed_cidrs="127.0.0.0/8",
        )
        sink = Sink()
        sink.expected = signals * endpoints
        sink_url = await stack.enter_async_context(serve(sink.app()))
        notifier_url = await stack.enter_async_context(serve(create_app(settings)))
        api = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=notifier_url,
                headers={"Authorization": f"Bearer {tenant.secret_key.plaintext}"},
            )
        )
        for index in range(endpoints):
            response = await api.post(
                "/v1/webhooks/endpoints",
                json={"url": f"{sink_url}/ep{index}", "event_types": ["signal.raised"]},
            )
            response.raise_for_status()

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        stack.push_async_callback(producer.stop)
        topic = Topics(settings.topic_namespace).signals
        published: dict[str, float] = {}
        started = time.perf_counter()
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
            published[change.id] = time.perf_counter()
            await producer.send(topic, change.to_value(), key=change.key, headers=change.headers())
        await producer.flush()
        await asyncio.wait_for(sink.complete.wait(), timeout=300)
        elapsed = sink.arrivals[-1][0] - started
        latencies = [
            (at - published[orjson.loads(body)["data"]["id"]]) * 1000 for at, body in sink.arrivals
        ]
        notifier_rate = len(sink.arrivals) / elapsed

        bodies = [body for _, body in sink.arrivals]
        sink.arrivals.clear()
        sink.complete.clear()
        gate = asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        async with httpx.AsyncClient(
            limits=httpx.Limits(max_connections=MAX_CONCURRENT_SENDS)
        ) as raw:

            async def post(index: int, body: bytes) -> None:
                async with gate:
                    response = await raw.post(
                        f"{sink_url}/ep{index % endpoints}",
                        content=body,
                        headers={"content-type": "application/json"},
                    )
                    response.raise_for_status()

            baseline_started = time.perf_counter()
            await asyncio.gather(*(post(i, body) for i, body in enumerate(bodies)))
            baseline_rate = len(bodies) / (time.perf_counter() - baseline_started)

        print(f"signals: {signals}, endpoints: {endpoints}, deliveries: {len(bodies)}")
        print(f"notifier: {notifier_rate:,.0f} deliveries/s (signed, logged, end to end)")
        print(f"baseline: {baseline_rate:,.0f} raw httpx POSTs/s (same bodies, same receiver)")
        print(f"ratio notifier/baseline: {notifier_rate / baseline_rate:.2f}")
        print(
            f"signal -> webhook latency: p50 {statistics.median(latencies):,.0f} ms, "
            f"p99 {percentile(latencies, 0.99):,.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=250)
    parser.add_argument("--endpoints", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.signals, args.endpoints))


if __name__ == "__main__":
    main()
