"""The sweeper: a thin loop that re-evaluates accounts no event has touched for a while.

An account judged "quiet" has its periods completed by the wall clock, which is only right
when its events are not merely waiting in the topic: while the consumer group has a backlog
(a history backfill, a restart) the sweep is postponed, or partial weeks would read as lost
usage.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.correlation.handlers import sweep_stale_accounts
from services.correlation.relay import OutboxRelay
from services.correlation.settings import CorrelationSettings
from shared.kafka import TRANSIENT_ERRORS, group_backlog
from shared.topics import Topics

log = structlog.get_logger(__name__)

# Checking often is cheap (one indexed query); the idle times decide how stale is stale.
MAX_PAUSE_SECONDS = 60.0
MIN_PAUSE_SECONDS = 0.1


async def run_sweeper(
    sessions: async_sessionmaker[AsyncSession], settings: CorrelationSettings, relay: OutboxRelay
) -> None:
    """Sweep until cancelled; a full batch is followed at once by the next one."""
    pause = max(
        MIN_PAUSE_SECONDS,
        min(MAX_PAUSE_SECONDS, settings.sweep_interval_seconds / 4, settings.tail_idle_seconds / 4),
    )
    topic = Topics(settings.topic_namespace).events
    while True:
        try:
            backlog = await group_backlog(
                settings.kafka_bootstrap_servers, settings.group_id, topic
            )
            if backlog > settings.sweep_max_backlog:
                log.info("sweep_postponed_for_backlog", backlog=backlog)
                evaluated = 0
            else:
                evaluated = await sweep_stale_accounts(sessions, settings)
        except TRANSIENT_ERRORS as exc:
            log.warning("sweep_postponed", error=repr(exc)[:300])
            evaluated = 0
        if evaluated:
            log.info("accounts_swept", accounts=evaluated)
            relay.wake()
        if evaluated < settings.sweep_batch_size:
            await asyncio.sleep(pause)
