"""The digester: a loop that writes due value digests and publishes them, and those two steps.

Writing and publishing are separate steps around the database (an outbox): a digest row is
written once per (account, period), then published with ``acks=all`` and stamped, so a crash
at any point publishes each period's digest again with the same id, never a second one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime, timedelta

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession

from services.equivalents import store
from services.equivalents.account_value import account_value as value_of
from services.equivalents.account_value import combine_units
from services.equivalents.catalog import Catalog
from services.equivalents.digests import DigestPreferences, Period, build_digest, due_period
from services.equivalents.handlers import Context, catalog_of
from services.equivalents.settings import EquivalentsSettings
from services.equivalents.store import TenantSettings
from shared.clock import utc_now
from shared.digests import Cadence, ValueDigest
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
        written = await produce_digests(context, utc_now(), delay)
    published = 0
    while True:
        sent = await publish_digests(context, producer, topics.digests, limit=BATCH_SIZE)
        published += sent
        if sent < BATCH_SIZE:
            break
    if written or published:
        log.info("digests", written=written, published=published, backlog=backlog)
    return written, published


async def produce_digests(context: Context, now: datetime, delay: timedelta) -> int:
    """Write the digest of every account with usage in its tenant's due period that has none;
    returns how many were written.

    A digest row is unique per (account, period), so two instances, or a restart, never write
    a period twice; publishing is a separate step (``publish_digests``).
    """
    weekly, monthly = (due_period(now, cadence, delay) for cadence in Cadence)
    async with context.sessions() as session:
        candidates = await store.accounts_with_usage(
            session, min(weekly.start, monthly.start), max(weekly.end, monthly.end)
        )
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for tenant_id, account_id in candidates:
        by_tenant[tenant_id].append(account_id)
    written = 0
    for tenant_id, account_ids in by_tenant.items():
        async with context.sessions.begin() as session:
            settings = await store.tenant_settings(session, tenant_id)
            preferences = DigestPreferences.model_validate(settings.digest or {})
            period = due_period(now, preferences.cadence, delay)
            done = await store.digested_accounts(session, tenant_id, period.key, account_ids)
            catalog = await catalog_of(context, session, tenant_id)
            for account_id in account_ids:
                if account_id in done:
                    continue
                digest = await _digest(
                    session, catalog, settings, preferences, tenant_id, account_id, period, now
                )
                if digest is not None and await store.add_digest(
                    session,
                    tenant_id=tenant_id,
                    account_id=account_id,
                    period=period.key,
                    period_start=period.start,
                    body=digest.model_dump(mode="json"),
                    now=now,
                ):
                    written += 1
    return written


async def _digest(
    session: AsyncSession,
    catalog: Catalog,
    settings: TenantSettings,
    preferences: DigestPreferences,
    tenant_id: str,
    account_id: str,
    period: Period,
    now: datetime,
) -> ValueDigest | None:
    rows = await store.period_totals(session, tenant_id, account_id, period.start, period.end)
    if not rows:
        return None  # usage in the other cadence's window only
    since = await store.first_usage_day(session, tenant_id, account_id)
    history = await store.period_totals(
        session, tenant_id, account_id, since or period.start, period.end
    )
    values = []
    for totals in (rows, history):
        combined = combine_units(total for total, _ in totals)
        values.append(
            value_of(combined.totals, catalog, settings.params, settings.modes, combined.units)
        )
    digest = build_digest(
        tenant_id=tenant_id,
        account_id=account_id,
        period=period,
        period_value=values[0],
        to_date_value=values[1],
        since=since,
        preferences=preferences,
        now=now,
    )
    # Usage nothing converts (no entry, a missing parameter) says nothing worth a push.
    return digest if digest.action or digest.feel_good or digest.to_date else None


async def publish_digests(
    context: Context, producer: AIOKafkaProducer, topic: str, *, limit: int = 200
) -> int:
    """Publish digests the broker has not acknowledged yet (``acks=all``), then stamp them;
    returns how many. A crash in between publishes them again with the same id."""
    async with context.sessions.begin() as session:
        rows = await store.unpublished_digests(session, limit)
        digests = [ValueDigest.model_validate(row.body) for row in rows]
        sent = [
            await producer.send(
                topic, value=digest.to_value(), key=digest.key, headers=digest.headers()
            )
            for digest in digests
        ]
        await asyncio.gather(*sent)
        published = utc_now()
        for row in rows:
            row.published_at = published
    return len(rows)
