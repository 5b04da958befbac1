"""Benchmark the correlation consumer: events/s into PostgreSQL, and cost against history size.

Starts its own Kafka broker and PostgreSQL (``ampm.local``), or uses ``AMPM_DATABASE_URL`` (a
server URL; a fresh database is created on it) and ``AMPM_TEST_KAFKA_BOOTSTRAP``. Measures

1. throughput against the pipeline: the ingest service's HTTP events/s (``python -m
   services.ingest``, batches of 100 from 8 concurrent clients, as ``bench/ingest.py``), then
   the correlation service as 1 and as 2 processes of one consumer group (``python -m
   services.correlation``: sweeper, relay and all) draining ``--events`` envelopes for
   ``--accounts`` accounts with success plans, published while the settled group is frozen
   (no publisher competes for the cores) and timed from the thaw to the group's last commit;
   live traffic
   (the last hour), then a backfill (26 weeks replayed oldest first). The target: correlation
   >= 2x ingest, live and backfill, so it is never the pipeline's bottleneck; a second process
   must add throughput (on two shared cores it cannot double: both processes, PostgreSQL and
   the broker share them). A raw aiokafka consumer's rate is printed for reference;
2. history: the per-event cost of processing ``--probe`` new events in 500-event batches (the
   handler, without Kafka): live events of the last hour, a backfill spread over 26 weeks sent
   oldest first (as a vendor replays its history), and the same spread in random order, with
   ``--history-small`` and then ``--history-large`` events of history already in the database,
   and each backfill's cost against the live cost. Defaults are 10k vs 200k so the run takes a couple of
   minutes; ``--history-large 1000000`` is the full 1M check (several more minutes).

    .venv/bin/python bench/correlation.py
    .venv/bin/python bench/correlation.py --history-large 1000000
    .venv/bin/python bench/correlation.py --skip-history     # the throughput part only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from ingest import http_batches
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ampm.local.processes import ServiceProcess
from ampm.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from services.correlation.handlers import process_records, put_plan
from services.correlation.settings import CorrelationSettings
from shared.db import create_engine, create_session_factory
from shared.events import Envelope, EventKind, EventSource
from shared.kafka import ensure_topics
from shared.topics import Topics

BATCH = 500
INGEST_CLIENTS = 8
MAX_POLL_RECORDS = CorrelationSettings.model_fields["max_poll_records"].default
HISTORY_BATCH = 5000  # history is loaded in large batches: it is set-up, not measured
ACTIVITIES = ("new_contacts_identified", "targeted_profiles", "social_campaigns")
KPI = "lead_conversion_rate"


def generate(
    tenant_id: str, accounts: int, count: int, seed: int, *, spread: timedelta = timedelta(weeks=26)
) -> list[Envelope]:
    """Usage, activity and KPI events over the last ``spread``, in random order of time."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    names = [*ACTIVITIES, KPI, "report.viewed", "dashboard.opened"]
    kinds = {KPI: EventKind.PERFORMANCE, "report.viewed": EventKind.USAGE}
    events = []
    for _ in range(count):
        name = rng.choice(names)
        moment = now - timedelta(seconds=rng.randrange(int(spread.total_seconds())))
        events.append(
            Envelope(
                tenant_id=tenant_id,
                account_id=f"acct-{rng.randrange(accounts)}",
                kind=kinds.get(
                    name, EventKind.USAGE if name.endswith("opened") else EventKind.ACTIVITY
                ),
                name=name,
                value=round(rng.uniform(0, 10), 2) if name == KPI else 1.0,
                occurred_at=moment,
                received_at=now,
                source=EventSource.REST,
            )
        )
    return events


def plan_body() -> dict[str, object]:
    return {
        "objectives": [
            {
                "metric": KPI,
                "baseline": 2.2,
                "target": 3.2,
                "direction": "up",
                "deadline": date(datetime.now(UTC).year + 1, 3, 31).isoformat(),
            }
        ],
        "itinerary": [
            {"metric": m, "category": "process", "target_per_period": 5, "direction": "increase"}
            for m in ACTIVITIES
        ],
        "adoption_owner_id": "owner",
        "sponsor_id": "sponsor",
    }


def records_of(topic: str, events: Sequence[Envelope]) -> list[ConsumerRecord[bytes, bytes]]:
    """Consumer records as Kafka would hand them over (for the handler-only history runs)."""
    return [
        ConsumerRecord(
            topic=topic,
            partition=0,
            offset=i,
            timestamp=0,
            timestamp_type=0,
            key=e.key,
            value=e.to_value(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=tuple(e.headers()),
        )
        for i, e in enumerate(events)
    ]


async def publish(bootstrap: str, topic: str, events: Sequence[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=e.to_value(), key=e.key, headers=e.headers())
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topic: str, count: int, max_poll_records: int) -> float:
    """Seconds for a bare aiokafka consumer to read ``count`` records and commit."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=max_poll_records,
    )
    await consumer.start()
    try:
        started: float | None = None
        seen = 0
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                started = started or time.perf_counter()
                seen += len(records)
        await consumer.commit()
        return time.perf_counter() - (started or 0.0)
    finally:
        await consumer.stop()


class Backlog:
    """A consumer group's uncommitted records on a topic, polled with clients kept open."""

    def __init__(self, bootstrap: str, group_id: str, topic: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        self._group_id = group_id
        self._topic = topic
        self._partitions: list[TopicPartition] = []

    async def __aenter__(self) -> Backlog:
        await self._admin.start()
        await self._reader.start()
        (described,) = await self._admin.describe_topics([self._topic])
        self._partitions = [
            TopicPartition(self._topic, p["partition"]) for p in described["partitions"]
        ]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._reader.stop()
        await self._admin.close()

    async def records(self) -> int:
        partitions = self._partitions
        ends = await self._reader.end_offsets(partitions)
        committed = await self._admin.list_consumer_group_offsets(self._group_id)
        return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)

    async def stable_with(self, members: int, within: float) -> None:
        """Until the group is stable with ``members`` members (each has its partitions)."""
        async with asyncio.timeout(within):
            while True:  # the group's state lives on the broker: polled
                (described,) = await self._admin.describe_consumer_groups([self._group_id])
                _error, _group, state, _protocol_type, _protocol, joined, *_ = described.groups[0]
                if state == "Stable" and len(joined) == members:
                    return
                await asyncio.sleep(0.05)

    async def drained(self, within: float) -> float:
        """``time.perf_counter()`` when nothing is left uncommitted."""
        async with asyncio.timeout(within):
            # Committed offsets live on the broker: polled, there is no event to wait on.
            while await self.records() > 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        return time.perf_counter()


async def correlation_processes(
    environment: dict[str, str],
    home: Path,
    count: int,
    events: Sequence[Envelope],
) -> float:
    """Events/s of ``count`` correlation processes of one group draining a backlog.

    The group settles on the empty topic (every member has its partitions: on a backlog the
    first member would drain it before the next one joined); the processes are then frozen
    (SIGSTOP) while the events are published, so no publisher shares the cores with them,
    and thawed (SIGCONT, well within the group's session timeout): the clock runs from the
    thaw to the group's last commit."""
    namespace = f"bench{uuid.uuid4().hex[:6]}."
    group = f"{namespace}ampm-correlation"
    bootstrap = environment["AMPM_KAFKA_BOOTSTRAP_SERVERS"]
    topic = Topics(namespace).events
    partitions = int(environment["AMPM_TOPIC_PARTITIONS"])
    await ensure_topics(bootstrap, [topic], partitions=partitions, replication_factor=1)
    encoded = [(e.to_value(), e.key, e.headers()) for e in events]
    env = {**environment, "AMPM_TOPIC_NAMESPACE": namespace}
    processes = [ServiceProcess("correlation", env, home) for _ in range(count)]
    try:
        await asyncio.gather(*(process.start() for process in processes))
        async with Backlog(bootstrap, group, topic) as backlog:
            await backlog.stable_with(count, within=120)
            signal_all(processes, signal.SIGSTOP)
            try:
                await publish_encoded(bootstrap, topic, encoded)
            finally:
                signal_all(processes, signal.SIGCONT)
            started = time.perf_counter()
            finished = await backlog.drained(within=600)
        return len(events) / (finished - started)
    finally:
        for process in processes:
            process.stop()


def signal_all(processes: Sequence[ServiceProcess], number: signal.Signals) -> None:
    for process in processes:
        if process.pid is not None:
            os.kill(process.pid, number)


async def publish_encoded(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    """Send pre-encoded records, every one acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for value, key, headers in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def load_history(
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    events: Sequence[Envelope],
) -> None:
    records = records_of("history", events)
    for start in range(0, len(records), HISTORY_BATCH):
        await process_records(sessions, records[start : start + HISTORY_BATCH], settings)


async def probe(
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    events: Sequence[Envelope],
) -> float:
    """Microseconds per event to process ``events`` in consumer-sized batches."""
    records = records_of("probe", events)
    started = time.perf_counter()
    for start in range(0, len(records), BATCH):
        await process_records(sessions, records[start : start + BATCH], settings)
    return (time.perf_counter() - started) / len(records) * 1e6


async def probes(
    sessions: async_sessionmaker[AsyncSession],
    settings: CorrelationSettings,
    tenant_id: str,
    args: argparse.Namespace,
    *,
    seed: int,
) -> tuple[float, float, float]:
    """(live, backfill in time order, backfill in random order) microseconds per event: values
    of the last hour, then of 26 weeks sent oldest first as a vendor replays its history, then
    the same spread in random order (each value in a bucket of its own: the upserts are the
    cost)."""
    live = generate(tenant_id, args.accounts, args.probe, seed, spread=timedelta(hours=1))
    history = generate(tenant_id, args.accounts, args.probe, seed + 100)
    in_order = sorted(history, key=lambda event: event.occurred_at)
    shuffled = generate(tenant_id, args.accounts, args.probe, seed + 200)
    return (
        await probe(sessions, settings, live),
        await probe(sessions, settings, in_order),
        await probe(sessions, settings, shuffled),
    )


async def ingest_rate(
    database_url: str, bootstrap: str, write_key: str, home: Path, seconds: float
) -> float:
    """Events/s the ingest service accepts over HTTP (batches of 100, 8 clients)."""
    environment = {
        "AMPM_DATABASE_URL": database_url,
        "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "AMPM_TOPIC_NAMESPACE": f"bench{uuid.uuid4().hex[:6]}.",
        "AMPM_INGEST_RAW_CONSUMER_ENABLED": "false",
        "AMPM_INGEST_RATE_LIMIT_PER_SECOND": "10000000",
        "AMPM_INGEST_RATE_LIMIT_BURST": "10000000",
        "AMPM_LOG_LEVEL": "warning",
    }
    ingest = ServiceProcess("ingest", environment, home)
    await ingest.start()
    try:
        await http_batches(ingest.url, write_key, 2, 0.5)  # warm-up: key cache, metadata
        return await http_batches(ingest.url, write_key, INGEST_CLIENTS, seconds)
    finally:
        ingest.stop()


async def throughput(
    args: argparse.Namespace, url: str, bootstrap: str, tenant_id: str, home: Path
) -> None:
    """Correlation processes against ingest, live and backfill, and a raw consumer's rate."""
    write_key = (await create_tenant_keys(url, "bench-ingest")).write_key.plaintext
    ingest = await ingest_rate(url, bootstrap, write_key, home, args.seconds)
    environment = {
        "AMPM_DATABASE_URL": url,
        "AMPM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "AMPM_TOPIC_PARTITIONS": str(args.partitions),
        "AMPM_LOG_LEVEL": "warning",
    }

    def live(seed: int) -> list[Envelope]:
        return generate(tenant_id, args.accounts, args.events, seed, spread=timedelta(hours=1))

    def backfill(seed: int) -> list[Envelope]:
        events = generate(tenant_id, args.accounts, args.events, seed)
        return sorted(events, key=lambda event: event.occurred_at)

    raw_topic = f"bench-raw-{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [raw_topic], partitions=args.partitions, replication_factor=1)
    await publish(bootstrap, raw_topic, live(1))
    raw = args.events / await raw_consume(bootstrap, raw_topic, args.events, MAX_POLL_RECORDS)
    print(f"throughput: {args.events} events per run, {args.accounts} accounts with plans, "
          f"{args.partitions} partitions")  # fmt: skip
    print(f"  ingest HTTP (1 process, batches of 100): {ingest:8,.0f} events/s")
    print(f"  raw aiokafka consume (reference):        {raw:8,.0f} events/s")
    # Fresh events (fresh ids) for every run: ids already seen would be skipped.
    for label, events, seed in (("live", live, 10), ("backfill", backfill, 20)):
        one = await correlation_processes(environment, home, 1, events(seed))
        two = await correlation_processes(environment, home, 2, events(seed + 1))
        print(f"  correlation, {label:<8} 1 process:  {one:8,.0f} events/s: "
              f"{one / ingest:.1f}x ingest (target >= 2)")  # fmt: skip
        print(f"  correlation, {label:<8} 2 processes:{two:8,.0f} events/s "
              f"({two / 2:,.0f} per process): {two / ingest:.1f}x ingest, "
              f"{two / one:.2f}x one process")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ampm-bench-") as home:
        async with throwaway_infrastructure(Path(home)) as infrastructure:
            await measure(
                args, infrastructure.maintenance_url, infrastructure.bootstrap_servers, Path(home)
            )


async def plans(url: str, tenant_id: str, args: argparse.Namespace) -> None:
    """A success plan for every account."""
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        settings = CorrelationSettings(database_url=url, log_json=False)
        for i in range(args.accounts):
            await put_plan(sessions, tenant_id, f"acct-{i}", plan_body(), settings)
    finally:
        await engine.dispose()


async def measure(
    args: argparse.Namespace, maintenance_url: str, bootstrap: str, home: Path
) -> None:
    """Both measurements, each on a fresh database of the server, with the given broker."""
    url = await create_database(maintenance_url, prefix="ampm_bench")
    tenant = (await create_tenant_keys(url, "bench")).tenant
    await plans(url, tenant.id, args)
    await throughput(args, url, bootstrap, tenant.id, home)
    if args.skip_history:
        return
    url = await create_database(maintenance_url, prefix="ampm_bench")
    tenant = (await create_tenant_keys(url, "bench")).tenant
    await plans(url, tenant.id, args)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        settings = CorrelationSettings(
            database_url=url,
            kafka_bootstrap_servers=bootstrap,
            topic_namespace=f"bench{uuid.uuid4().hex[:6]}.",
            topic_partitions=args.partitions,
            consumer_group=f"bench-{uuid.uuid4().hex[:6]}",
            log_json=False,
        )
        # 2. per-event cost against history size (handler only, same batches).
        small, large = args.history_small, args.history_large
        await load_history(sessions, settings, generate(tenant.id, args.accounts, small, seed=2))
        small_costs = await probes(sessions, settings, tenant.id, args, seed=3)
        await load_history(
            sessions, settings, generate(tenant.id, args.accounts, large - small, seed=4)
        )
        large_costs = await probes(sessions, settings, tenant.id, args, seed=5)
        print(f"history: per-event cost of {args.probe} new events in {BATCH}-event batches")
        labels = ("live             ", "backfill in order", "backfill shuffled")
        for label, cost_small, cost_large in zip(labels, small_costs, large_costs, strict=True):
            print(
                f"  {label}: {cost_small:7.1f} us/event with {small} events of history, "
                f"{cost_large:7.1f} us/event with {large}: ratio "
                f"{cost_large / cost_small:.2f} (target <= 1.2)"
            )
        for label, cost_small, cost_large in zip(
            labels[1:], small_costs[1:], large_costs[1:], strict=True
        ):
            print(
                f"  {label} / live: {cost_small / small_costs[0]:.2f} and "
                f"{cost_large / large_costs[0]:.2f} (target <= 2)"
            )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=6, help="two processes get half each")
    parser.add_argument("--probe", type=int, default=5_000)
    parser.add_argument("--history-small", type=int, default=10_000)
    parser.add_argument("--history-large", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="ingest measurement")
    parser.add_argument("--skip-history", action="store_true", help="throughput only")
    # The services run on uvloop (uvicorn picks it when installed), so both consumers do here.
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
