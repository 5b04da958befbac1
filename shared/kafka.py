"""Kafka plumbing: producer and consumer factories, topic bootstrap, and the consume loop.

The consume loop owns the error policy for every consumer, in one place:

- the partitions of a poll are handled concurrently, each strictly in order: one account's
  events share a partition, so their order holds, while one partition's database round trips
  overlap with another's decoding;
- the handler commits its database transaction, then the loop commits ``offset + 1``;
- a dependency that is down (database, broker) -> retry the same records with backoff,
  never commit past them;
- a poison message (the handler says so, or it keeps failing) -> the dead-letter topic with the
  reason in headers, then commit past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    TopicAlreadyExistsError,
    UnknownProducerId,
)
from sqlalchemy.exc import DBAPIError, OperationalError

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
MAX_ATTEMPTS_BEFORE_DEAD_LETTER = 3
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
    def current(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the producer is not started")
        return self._producer

    async def start(self) -> None:
        producer = self._factory()
        await producer.start()
        self._producer = producer

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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the handler will not process, and why."""

    record: ConsumerRecord[bytes, bytes]
    reason: str


BatchHandler = Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[Sequence[DeadLetter]]]


def dead_letter_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """Original headers plus where the record came from and why it was rejected."""
    record = letter.record
    return [
        *list(record.headers or ()),
        ("ampm-dlq-reason", letter.reason.encode()[:1000]),
        ("ampm-dlq-topic", record.topic.encode()),
        ("ampm-dlq-partition", str(record.partition).encode()),
        ("ampm-dlq-offset", str(record.offset).encode()),
    ]


async def publish_dead_letters(
    producer: AIOKafkaProducer | HealingProducer, topic: str, letters: Sequence[DeadLetter]
) -> None:
    """Send rejected records to the dead-letter topic and wait for every acknowledgement."""
    futures = [
        await producer.send(
            topic,
            value=letter.record.value,
            key=letter.record.key,
            headers=dead_letter_headers(letter),
        )
        for letter in letters
    ]
    await asyncio.gather(*futures)


class ConsumeLoop:
    """Run a batch handler over a consumer with the shared commit and error policy."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: BatchHandler,
        *,
        producer: AIOKafkaProducer | HealingProducer,
        dead_letter_topic: str,
        name: str,
        poll_timeout_ms: int = 500,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._producer = producer
        self._dlq = dead_letter_topic
        self._name = name
        self._poll_timeout_ms = poll_timeout_ms

    async def run(self) -> None:
        """Poll, handle and commit until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            handled = {partition: records for partition, records in batches.items() if records}
            if not handled:
                continue
            # The next poll waits for every batch of this one: the fetcher fetches a broker's
            # partitions only once all of them were consumed, so a partition left unconsumed
            # would hold back the others' fresh records.
            async with asyncio.TaskGroup() as batch_tasks:
                for partition, records in handled.items():
                    batch_tasks.create_task(
                        self._process(records), name=f"{self._name}-{partition.partition}"
                    )
            await self._commit({p: records[-1].offset + 1 for p, records in handled.items()})

    async def _process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        letters = await self._with_retries(records)
        if letters:
            await self._retry_transient(
                lambda: publish_dead_letters(self._producer, self._dlq, letters)
            )
            for letter in letters:
                log.warning(
                    "message_dead_lettered",
                    consumer=self._name,
                    topic=letter.record.topic,
                    partition=letter.record.partition,
                    offset=letter.record.offset,
                    reason=letter.reason,
                )

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit every partition of a poll in one request, once all of them are handled."""
        try:
            await self._retry_transient(lambda: self._consumer.commit(offsets))
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved to another member, which re-reads from the last commit;
            # processing is idempotent, so nothing is counted twice.
            log.warning("commit_skipped_after_rebalance", consumer=self._name, error=repr(exc))

    async def _with_retries(
        self, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> list[DeadLetter]:
        """Handle a batch; on an unexpected error, isolate the culprit record by record."""
        try:
            return list(await self._retry_transient(lambda: self._handler(records)))
        except Exception:
            if len(records) == 1:
                return await self._single_with_limit(records[0])
        letters: list[DeadLetter] = []
        for record in records:
            letters.extend(await self._single_with_limit(record))
        return letters

    async def _single_with_limit(self, record: ConsumerRecord[bytes, bytes]) -> list[DeadLetter]:
        last_error: Exception | None = None
        for attempt in range(MAX_ATTEMPTS_BEFORE_DEAD_LETTER):
            try:
                return list(await self._retry_transient(lambda: self._handler([record])))
            except Exception as exc:  # unexpected: retried a few times, then dead-lettered
                last_error = exc
                log.warning(
                    "message_handler_failed",
                    consumer=self._name,
                    offset=record.offset,
                    attempt=attempt + 1,
                    error=repr(exc)[:300],
                )
                await asyncio.sleep(BACKOFF_INITIAL_SECONDS * (attempt + 1))
        return [DeadLetter(record, f"handler failed: {last_error!r}"[:1000])]

    async def _retry_transient(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Retry while a dependency is down; other errors propagate."""
        delay = BACKOFF_INITIAL_SECONDS
        outage_logged = False
        while True:
            try:
                result = await operation()
            except (CommitFailedError, IllegalStateError):
                raise
            except TRANSIENT_ERRORS as exc:
                if not outage_logged:
                    log.warning(
                        "dependency_unavailable", consumer=self._name, error=repr(exc)[:300]
                    )
                    outage_logged = True
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                if not outage_logged:
                    log.warning(
                        "dependency_unavailable", consumer=self._name, error=repr(exc)[:300]
                    )
                    outage_logged = True
            else:
                if outage_logged:
                    log.info("dependency_recovered", consumer=self._name)
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)
