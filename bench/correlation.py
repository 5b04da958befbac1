"""Benchmark the correlation consumer: events/s into PostgreSQL, and cost against history size.

Starts its own Kafka broker and PostgreSQL (``shared.local``), or uses ``AMPM_DATABASE_URL`` (a
server URL; a fresh database is created on it) and ``AMPM_TEST_KAFKA_BOOTSTRAP``. Measures

1. throughput: ``--events`` envelopes for ``--accounts`` accounts (each with a success plan) are
   published to the events topic; the service's consume loop (decode, claim ids, fold, upsert
   buckets, evaluate the touched accounts, outbox, commit) is timed from its first records to
   the last committed batch, against a raw aiokafka consumer reading the same records in the
   same run, timed the same way (joining the consumer group is left out of both: it is not
   throughput, and over a short run it would dwarf the raw consumer's time);
2. history: the per-event cost of processing ``--probe`` new events in 500-event batches (the
   handler, without Kafka): live events of the last hour, a backfill spread over 26 weeks sent
   oldest first (as a vendor replays its history), and the same spread in random order, with
   ``--history-small`` and then ``--history-large`` events of history already in the database,
   and each backfill's cost against the live cost. Defaults are 10k vs 200k so the run takes a couple of
   minutes; ``--history-large 1000000`` is the full 1M check (several more minutes).

    .venv/bin/python bench/correlation.py
    .venv/bin/python bench/correlation.py --history-large 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation.consumer import batch_handler, events_consumer
from services.correlation.handlers import process_records, put_plan
from services.correlation.relay import OutboxRelay
from services.correlation.settings import CorrelationSettings
from shared.db import create_engine, create_session_factory
from shared.events import Envelope, EventKind, EventSource
from shared.kafka import ConsumeLoop, DeadLetter, HealingProducer
from shared.local.stack import create_database, create_tenant_keys, throwaway_infrastructure
from shared.service import bootstrap_topics, freeze_startup_heap

BATCH = 500
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


async def service_consume(
    settings: CorrelationSettings,
    sessions: async_sessionmaker[AsyncSession],
    count: int,
) -> float:
    """Seconds for the service's consume loop to process and commit ``count`` records."""
    topics = await bootstrap_topics(settings)
    consumer = events_consumer(settings, topics)
    producer = HealingProducer(
        lambda: AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all"),
        stuck_after_seconds=settings.producer_stuck_after_seconds,
    )
    relay = OutboxRelay(sessions, topics.signals, poll_seconds=settings.outbox_poll_seconds)
    handler = batch_handler(sessions, settings, relay)
    done = asyncio.Event()
    processed = 0
    started: float | None = None

    async def counting(
        records: Sequence[ConsumerRecord[bytes, bytes]],
    ) -> Sequence[DeadLetter]:
        nonlocal processed, started
        started = started or time.perf_counter()
        letters = await handler(records)
        processed += len(records)
        if processed >= count:
            done.set()
        return letters

    await producer.start()
    await consumer.start()
    loop = ConsumeLoop(
        consumer, counting, producer=producer, dead_letter_topic=topics.events_dlq, name="bench"
    )
    tasks = [asyncio.create_task(loop.run()), asyncio.create_task(relay.run(producer))]
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
        return time.perf_counter() - (started or 0.0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await consumer.stop()
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


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ampm-bench-") as home:
        async with throwaway_infrastructure(Path(home)) as infrastructure:
            await measure(args, infrastructure.maintenance_url, infrastructure.bootstrap_servers)


async def measure(args: argparse.Namespace, maintenance_url: str, bootstrap: str) -> None:
    """Both measurements on a fresh database of the server and the given broker."""
    url = await create_database(maintenance_url, prefix="ampm_bench")
    tenant = (await create_tenant_keys(url, "bench")).tenant
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
        for i in range(args.accounts):
            await put_plan(sessions, tenant.id, f"acct-{i}", plan_body(), settings)

        # 1. throughput through Kafka, service vs raw consumer, same records.
        topics = await bootstrap_topics(settings)
        # Live traffic happened in the last hour; --backfill spreads it over 26 weeks, so
        # nearly every batch changes ended periods and re-evaluates every account it touches.
        spread = timedelta(weeks=26) if args.backfill else timedelta(hours=1)
        await publish(
            bootstrap,
            topics.events,
            generate(tenant.id, args.accounts, args.events, seed=1, spread=spread),
        )
        # As the service's process does once started (``serve``); both consumers run after it.
        freeze_startup_heap()
        raw_seconds = await raw_consume(
            bootstrap, topics.events, args.events, settings.max_poll_records
        )
        service_seconds = await service_consume(settings, sessions, args.events)
        raw_rate = args.events / raw_seconds
        service_rate = args.events / service_seconds
        print(
            f"throughput: {args.events} {'backfill' if args.backfill else 'live'} events, "
            f"{args.accounts} accounts with plans, {args.partitions} partitions"
        )
        print(f"  raw aiokafka consume : {raw_rate:10.0f} events/s")
        print(f"  correlation consumer : {service_rate:10.0f} events/s (into PostgreSQL)")
        print(f"  ratio service/raw    : {service_rate / raw_rate:10.2f} (target >= 0.3)")

        # 2. per-event cost against history size (handler only, same batches).
        small, large = args.history_small, args.history_large
        present = args.events
        await load_history(
            sessions,
            settings,
            generate(tenant.id, args.accounts, max(0, small - present), seed=2),
        )
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
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--probe", type=int, default=5_000)
    parser.add_argument("--history-small", type=int, default=10_000)
    parser.add_argument("--history-large", type=int, default=200_000)
    parser.add_argument(
        "--backfill", action="store_true", help="throughput events spread over 26 weeks"
    )
    # The services run on uvloop (uvicorn picks it when installed), so both consumers do here.
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
