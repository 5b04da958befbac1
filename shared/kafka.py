"""Kafka plumbing: producer and consumer factories, the healing producer, topic bootstrap.

What a consumer does with its records, and with failures, is ``shared.consuming``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaConnectionError,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from sqlalchemy.exc import OperationalError

from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

# Errors that mean "a dependency is down": retried forever, never dead-lettered.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    KafkaError,
    ConnectionError,
    OSError,
    TimeoutError,
)
BACKOFF_INITIAL_SECONDS = 0.2
BACKOFF_MAX_SECONDS = 5.0


def create_producer(settings: ServiceSettings, *, client_id: str) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the record."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )


# Producer states the client never leaves by itself: after a long outage, batches that expired
# on the client leave a gap in its sequence numbers, and the broker refuses every later batch
# of that partition (or forgot the producer id). Only a new producer (a new id) publishes again.
FATAL_PRODUCER_ERRORS: tuple[type[BaseException], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
    ProducerClosed,
)
PRODUCER_STOP_SECONDS = 10.0


class HealingProducer:
    """The service's producer, replaced when it reaches a state it cannot leave by itself.

    Callers send through ``current`` (or ``send``) and report each outcome: ``succeeded()``, or
    ``failed(error)``, which replaces the producer at once on a fatal error, and after
    ``stuck_after_seconds`` of nothing but failures otherwise (a new producer cannot start
    while the broker is away; the next failure tries again). Records a replaced producer had
    not got acknowledged were reported as failures to their callers, who retry them with the
    same event ids, so consumers deduplicate: nothing acknowledged is lost or doubled.
    """

    def __init__(
        self,
        factory: Callable[[], AIOKafkaProducer],
        *,
        stuck_after_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._stuck_after = stuck_after_seconds
        self._clock = clock
        self._producer: AIOKafkaProducer | None = None
        self._failing_since: float | None = None
        self._last_attempt = 0.0
        self._lock = asyncio.Lock()
        self.replacements = 0

    @property
    def connected(self) -> bool:
        """Whether a producer was started (the broker answered once)."""
        return self._producer is not None

    @property
    def current(self) -> AIOKafkaProducer:
        """The producer to send through; raises ``KafkaConnectionError`` before it connects,
        which callers treat as the broker being down."""
        if self._producer is None:
            raise KafkaConnectionError("not connected to Kafka yet")
        return self._producer

    async def start(self) -> None:
        """Start a producer; raises, keeping none, while the broker is unreachable."""
        producer = self._factory()
        try:
            await producer.start()
        except BaseException:
            await stop_producer(producer)
            raise
        self._producer = producer
        self._failing_since = None

    async def stop(self) -> None:
        if self._producer is not None:
            await stop_producer(self._producer)
            self._producer = None

    async def send(self, topic: str, **kwargs: Any) -> asyncio.Future[Any]:
        """``AIOKafkaProducer.send`` on the current producer."""
        future: asyncio.Future[Any] = await self.current.send(topic, **kwargs)
        return future

    def succeeded(self) -> None:
        """A publish was acknowledged: the producer works."""
        self._failing_since = None

    def failing_for(self) -> float:
        """Seconds since publishing last worked, 0 while it works."""
        if self._failing_since is None:
            return 0.0
        return self._clock() - self._failing_since

    async def failed(self, error: BaseException) -> None:
        """A publish failed with ``error``: replace the producer when it cannot recover."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        if self._producer is None:
            return  # not connected yet: the service's connector starts the first one
        fatal = isinstance(error, FATAL_PRODUCER_ERRORS) or isinstance(
            error.__cause__, FATAL_PRODUCER_ERRORS
        )
        stuck = now - self._failing_since >= self._stuck_after
        if (fatal or stuck) and now - self._last_attempt >= min(1.0, self._stuck_after):
            await self._replace(repr(error)[:300])

    async def _replace(self, reason: str) -> None:
        async with self._lock:
            self._last_attempt = self._clock()
            fresh = self._factory()
            try:
                await fresh.start()
            except KafkaError as exc:
                log.warning("producer_replacement_postponed", reason=reason, error=repr(exc))
                await stop_producer(fresh)
                return
            old, self._producer = self._producer, fresh
            self._failing_since = None  # a new producer id, nothing refused yet
            self.replacements += 1
            log.warning("producer_replaced", reason=reason, replacements=self.replacements)
            if old is not None:
                await stop_producer(old)


async def stop_producer(producer: AIOKafkaProducer) -> None:
    """Stop a producer, waiting at most ``PRODUCER_STOP_SECONDS``."""
    # With the broker gone, stop() would wait forever for records it cannot deliver; those
    # were never acknowledged to anyone, so giving up on them loses nothing.
    try:
        await asyncio.wait_for(producer.stop(), PRODUCER_STOP_SECONDS)
    except (TimeoutError, KafkaError):
        log.warning("producer_stop_timed_out")


def create_consumer(
    settings: ServiceSettings,
    *topics: str,
    group_id: str,
    client_id: str,
    max_poll_records: int = 500,
) -> AIOKafkaConsumer:
    """A consumer-group member with manual commits, starting from the earliest offset.

    ``max_poll_records`` bounds one poll across all assigned partitions: consumers that apply
    a whole batch in one transaction take more, so the per-transaction cost is shared wider.
    """
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_poll_records,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=3_000,
    )


async def ensure_topics(
    bootstrap_servers: str, topics: Sequence[str], *, partitions: int, replication_factor: int
) -> None:
    """Create missing topics with the configured partition count; existing ones are kept."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            # Another instance may create one between the listing and the request.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, partitions, replication_factor) for t in missing]
                )
    finally:
        await admin.close()


async def group_backlog(bootstrap_servers: str, group_id: str, topic: str) -> int:
    """Records of ``topic`` the consumer group has not committed yet, over all partitions (a
    partition the group never committed counts from its start)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await reader.start()
        try:
            (described,) = await admin.describe_topics([topic])
            partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
            ends = await reader.end_offsets(partitions)
            starts = await reader.beginning_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group_id)
        finally:
            await reader.stop()
    finally:
        await admin.close()
    return sum(
        ends[tp] - (committed[tp].offset if tp in committed else starts[tp]) for tp in partitions
    )


async def check_kafka(bootstrap_servers: str) -> None:
    """Raise unless the cluster answers a metadata request (readiness)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2_000)
    await admin.start()
    try:
        await admin.describe_cluster()
    finally:
        await admin.close()
