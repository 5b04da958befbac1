"""The digester: a thin loop that writes due value digests and publishes them.

Writing and publishing are separate steps around the database (an outbox): a digest row is
written once per (account, period), then published with ``acks=all`` and stamped, so a crash
at any point publishes each period's digest again with the same id, never a second one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from aiokafka import AIOKafkaProducer

from services.equivalents import handlers
from services.equivalents.handlers import Context
from services.equivalents.settings import EquivalentsSettings
from shared.clock import utc_now
from shared.kafka import BACKOFF_MAX_SECONDS, TRANSIENT_ERRORS, group_backlog
from shared.service import bootstrap_topics, open_producer
from shared.topics import Topics

log = structlog.get_logger(__name__)

CLIENT_ID = "ampm-equivalents-digests"
BATCH_SIZE = 200


async def run_digester(settings: EquivalentsSettings, context: Context) -> None:
    """Write and publish due digests every poll interval until cancelled; waits for Kafka
    and the database when they are down."""
    backoff = 0.5
    while True:
        try:
            topics = await bootstrap_topics(settings)
            async with open_producer(settings, client_id=CLIENT_ID) as producer:
                while True:
                    await digest_once(settings, context, producer, topics)
                    backoff = 0.5
                    await asyncio.sleep(settings.digest_poll_seconds)
        except TRANSIENT_ERRORS as exc:
            log.warning("digests_postponed", error=repr(exc)[:300])
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)


async def digest_once(
    settings: EquivalentsSettings, context: Context, producer: AIOKafkaProducer, topics: Topics
) -> tuple[int, int]:
    """Write the due digests, unless usage still waits in the topic (a backfill, a restart:
    its totals would be short), then publish every unpublished one; (written, published)."""
    group = settings.topic_namespace + settings.consumer_group
    backlog = await group_backlog(settings.kafka_bootstrap_servers, group, topics.events)
    written = 0
    if backlog <= settings.digest_max_backlog:
        delay = timedelta(seconds=settings.digest_delay_seconds)
        written = await handlers.produce_digests(context, utc_now(), delay)
    published = 0
    while True:
        sent = await handlers.publish_digests(context, producer, topics.digests, limit=BATCH_SIZE)
        published += sent
        if sent < BATCH_SIZE:
            break
    if written or published:
        log.info("digests", written=written, published=published, backlog=backlog)
    return written, published
