"""Consumers: the one commit / retry / dead-letter policy, and the runner every service uses.

``run_consumer`` waits for Kafka, creates the topics, joins the group and runs ``ConsumeLoop``;
when Kafka goes away it starts over with backoff, while the service's HTTP API keeps serving
and ``/readyz`` says why. A service's ``consumer.py`` only names its ``Subscription`` and
decodes records for its handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from sqlalchemy.exc import DBAPIError

from shared.kafka import (
    BACKOFF_INITIAL_SECONDS,
    BACKOFF_MAX_SECONDS,
    TRANSIENT_ERRORS,
    HealingProducer,
    create_consumer,
)
from shared.service import bootstrap_topics
from shared.settings import ServiceSettings
from shared.topics import Topics

log = structlog.get_logger(__name__)

CONSUMER_STOP_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ConsumePolicy:
    """How every consumer treats its records and failures, in one place.

    - the partitions of a poll are handled concurrently, each strictly in order: one account's
      events share a partition, so their order holds, while one partition's database round
      trips overlap with another's decoding;
    - the handler commits its database transaction, then the loop commits ``offset + 1``;
    - a dependency that is down (database, broker) -> retry the same records with backoff,
      never commit past them;
    - a poison message (the handler says so, or it fails ``attempts_before_dead_letter`` times)
      -> the dead-letter topic with the reason in headers, then commit past it.
    """

    attempts_before_dead_letter: int = 3
    backoff_initial_seconds: float = BACKOFF_INITIAL_SECONDS
    backoff_max_seconds: float = BACKOFF_MAX_SECONDS
    poll_timeout_ms: int = 500

    def next_delay(self, delay: float) -> float:
        """The wait after ``delay`` when the dependency is still down."""
        return min(delay * 2, self.backoff_max_seconds)


DEFAULT_POLICY = ConsumePolicy()


@dataclass(frozen=True, slots=True)
class Subscription:
    """One consumer of a service: its name, its group (under the topic namespace), the topics
    it reads and where its dead letters go."""

    name: str
    group: str
    topics: Callable[[Topics], Sequence[str]]
    dead_letters: Callable[[Topics], str]
    max_poll_records: int = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record the handler will not process, and why."""

    record: ConsumerRecord[bytes, bytes]
    reason: str


BatchHandler = Callable[[Sequence[ConsumerRecord[bytes, bytes]]], Awaitable[Sequence[DeadLetter]]]

Decoded = TypeVar("Decoded")


def decode_records(
    records: Sequence[ConsumerRecord[bytes, bytes]],
    decode: Callable[[bytes | None], Decoded],
    what: str,
) -> tuple[list[tuple[ConsumerRecord[bytes, bytes], Decoded]], list[DeadLetter]]:
    """Each record's value decoded, or, where ``decode`` rejects it (a ``ValueError``, which
    pydantic's validation errors are), a dead letter saying it is not a valid ``what``."""
    decoded: list[tuple[ConsumerRecord[bytes, bytes], Decoded]] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            decoded.append((record, decode(record.value)))
        except ValueError as exc:
            letters.append(DeadLetter(record, f"malformed {what}: {exc}"[:1000]))
    return decoded, letters


def subscribed_consumer(
    settings: ServiceSettings, subscription: Subscription, topics: Topics
) -> AIOKafkaConsumer:
    """A member of the subscription's group (namespaced like the topics), not started."""
    return create_consumer(
        settings,
        *subscription.topics(topics),
        group_id=settings.topic_namespace + subscription.group,
        client_id=f"ampm-{subscription.name}",
        max_poll_records=subscription.max_poll_records,
    )


async def run_consumer(
    settings: ServiceSettings,
    subscription: Subscription,
    handler: BatchHandler,
    *,
    producer: HealingProducer,
    policy: ConsumePolicy = DEFAULT_POLICY,
) -> None:
    """Consume ``subscription`` with ``handler`` until cancelled, starting over with backoff
    whenever Kafka is unreachable (at startup or later); dead letters go out through
    ``producer``."""
    delay = policy.backoff_initial_seconds
    while True:
        try:
            topics = await bootstrap_topics(settings)
            consumer = subscribed_consumer(settings, subscription, topics)
            try:
                await consumer.start()
                delay = policy.backoff_initial_seconds
                loop = ConsumeLoop(
                    consumer,
                    handler,
                    producer=producer,
                    dead_letter_topic=subscription.dead_letters(topics),
                    name=subscription.name,
                    policy=policy,
                )
                await loop.run()
            finally:
                await _stop(consumer, subscription.name)
        except TRANSIENT_ERRORS as exc:
            _stop_if_cancelled()
            log.warning("consumer_waiting_for_kafka", consumer=subscription.name, error=repr(exc))
        except Exception:  # a bug must not stop consuming for good: logged, then start over
            _stop_if_cancelled()
            log.exception("consumer_restarting", consumer=subscription.name)
        await asyncio.sleep(delay)
        delay = policy.next_delay(delay)


async def _stop(consumer: AIOKafkaConsumer, name: str) -> None:
    """Stop a consumer within ``CONSUMER_STOP_SECONDS``, whatever it raises: this runs when
    the loop failed or was cancelled, and must neither hang the service's shutdown (a group
    rebalancing) nor replace the reason it stops."""
    try:
        await asyncio.wait_for(consumer.stop(), CONSUMER_STOP_SECONDS)
    except Exception as exc:
        log.warning("consumer_stop_failed", consumer=name, error=repr(exc)[:300])


def _stop_if_cancelled() -> None:
    """Re-raise the cancellation of the running task: an error met while it was being
    cancelled (a consumer failing as it stops) must not start the loop over."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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
    """Run a batch handler over a started consumer with the ``ConsumePolicy``."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        handler: BatchHandler,
        *,
        producer: AIOKafkaProducer | HealingProducer,
        dead_letter_topic: str,
        name: str,
        policy: ConsumePolicy = DEFAULT_POLICY,
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._producer = producer
        self._dlq = dead_letter_topic
        self._name = name
        self._policy = policy

    async def run(self) -> None:
        """Poll, handle and commit until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=self._policy.poll_timeout_ms)
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
        for attempt in range(self._policy.attempts_before_dead_letter):
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
                await asyncio.sleep(self._policy.backoff_initial_seconds * (attempt + 1))
        return [DeadLetter(record, f"handler failed: {last_error!r}"[:1000])]

    async def _retry_transient(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Retry while a dependency is down; other errors propagate."""
        delay = self._policy.backoff_initial_seconds
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
            delay = self._policy.next_delay(delay)
