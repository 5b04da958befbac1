"""The ingest use cases: native REST, Segment REST and the raw Kafka topic.

Each one validates and normalises its input with the pure modules, spends the tenant's rate
limit, and publishes through ``publisher.publish_all``; nothing is acknowledged (a 2xx answer,
an offset commit) before Kafka acknowledged every record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from aiokafka import ConsumerRecord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest.credentials import write_key_from_headers
from services.ingest.errors import IngestError, UnknownWriteKey
from services.ingest.native import NativeLimits, normalize_kafka_value, normalize_native
from services.ingest.publisher import (
    OutgoingRecord,
    PublishFailed,
    envelope_record,
    publish_all,
    rejected_record,
)
from services.ingest.ratelimit import TenantBuckets, retry_after_header
from services.ingest.segment import (
    SegmentLimits,
    SegmentResult,
    SegmentType,
    normalize_segment_batch,
    normalize_segment_call,
)
from shared.clock import utc_now
from shared.consuming import DeadLetter
from shared.erasure import SERVICES as ERASURE_SERVICES
from shared.erasure import ErasureRequest, ErasureScope, status_of, subject_hash
from shared.errors import NotFound, ServiceUnavailable, TooManyRequests
from shared.events import Envelope, EventSource
from shared.kafka import HealingProducer
from shared.tables import ErasedSubjectRow, ErasureProgressRow, ErasureRow
from shared.tenancy.auth import TenantResolver
from shared.tenancy.keys import KeyKind
from shared.tenancy.store import erase_tenant
from shared.topics import RAW_WRITE_KEY_HEADER, Topics

log = structlog.get_logger(__name__)

# Ids of raw-topic events sent without one derive from the record's position, so a batch that
# is re-read after a failed publish yields the same ids and consumers can deduplicate it.
RAW_EVENT_ID_NAMESPACE = uuid.UUID("6a1c3f2e-7f0b-4b8e-9d55-3f6f0c1a2b44")


@dataclass(frozen=True, slots=True)
class Context:
    """What every use case needs; built once in ``create_app``'s lifespan."""

    sessions: async_sessionmaker[AsyncSession]
    producer: HealingProducer
    topics: Topics
    resolver: TenantResolver
    buckets: TenantBuckets
    native_limits: NativeLimits
    segment_limits: SegmentLimits
    raw_max_value_bytes: int
    publish_timeout_seconds: float
    retry_after_seconds: int


async def ingest_native(ingestor: Context, tenant_id: str, body: object) -> list[str]:
    """Validate a native body (all or nothing), publish it, and return the event ids."""
    envelopes = normalize_native(body, tenant_id, utc_now(), ingestor.native_limits)
    _spend(ingestor, tenant_id, len(envelopes))
    topic = ingestor.topics.events
    await _publish(ingestor, tenant_id, [envelope_record(topic, e) for e in envelopes])
    return [envelope.id for envelope in envelopes]


async def ingest_segment(
    ingestor: Context,
    tenant_id: str,
    body: object,
    call_type: SegmentType | None,
    received_at: datetime,
) -> SegmentResult:
    """Map a Segment body (a batch when ``call_type`` is None), publish the good messages and
    dead-letter the bad ones, all acknowledged before returning."""
    if call_type is None:
        result = normalize_segment_batch(
            body, tenant_id=tenant_id, received_at=received_at, limits=ingestor.segment_limits
        )
    else:
        result = normalize_segment_call(
            body,
            call_type,
            tenant_id=tenant_id,
            received_at=received_at,
            limits=ingestor.segment_limits,
        )
    _spend(ingestor, tenant_id, len(result.accepted) + len(result.rejected))
    records = [envelope_record(ingestor.topics.events, envelope) for envelope in result.accepted]
    records.extend(
        rejected_record(
            ingestor.topics.events_dlq,
            tenant_id=tenant_id,
            payload=rejected.message,
            code=rejected.code,
            field=rejected.field,
            reason=rejected.reason,
            source=EventSource.SEGMENT.value,
            origin=f"/v1/{call_type.value if call_type else 'batch'}",
        )
        for rejected in result.rejected
    )
    await _publish(ingestor, tenant_id, records)
    return result


async def ingest_raw_records(
    ingestor: Context, records: Sequence[ConsumerRecord[bytes, bytes]]
) -> list[DeadLetter]:
    """Normalise raw-topic records and publish the valid ones; the rest are returned as dead
    letters for the consume loop. Raises ``PublishFailed`` (retried by the loop) while Kafka
    does not acknowledge."""
    now = utc_now()
    envelopes: list[Envelope] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            envelopes.append(await _raw_envelope(ingestor, record, now))
        except IngestError as exc:
            letters.append(DeadLetter(record, f"{exc.code}: {exc.field}: {exc.reason}"))
    topic = ingestor.topics.events
    await publish_all(
        ingestor.producer,
        [envelope_record(topic, envelope) for envelope in envelopes],
        timeout_seconds=ingestor.publish_timeout_seconds,
    )
    return letters


async def _raw_envelope(
    ingestor: Context, record: ConsumerRecord[bytes, bytes], now: datetime
) -> Envelope:
    key = write_key_from_headers(list(record.headers or ()))
    if key is None:
        raise UnknownWriteKey(RAW_WRITE_KEY_HEADER, "the record carries no write key")
    tenant = await ingestor.resolver.resolve(key, KeyKind.WRITE)
    if tenant is None:
        raise UnknownWriteKey(RAW_WRITE_KEY_HEADER, "the write key is not valid")
    position = f"{record.topic}/{record.partition}/{record.offset}"
    return normalize_kafka_value(
        record.value,
        tenant_id=tenant.id,
        now=now,
        max_bytes=ingestor.raw_max_value_bytes,
        default_id=str(uuid.uuid5(RAW_EVENT_ID_NAMESPACE, position)),
        window=ingestor.native_limits.window,
    )


def _spend(ingestor: Context, tenant_id: str, cost: int) -> None:
    wait = ingestor.buckets.take(tenant_id, cost)
    if wait > 0:
        raise TooManyRequests(
            f"the tenant's rate limit is spent; retry in {wait:.1f}s",
            field="tenant",
            retry_after=retry_after_header(wait),
        )


async def _publish(ingestor: Context, tenant_id: str, records: Sequence[OutgoingRecord]) -> None:
    try:
        await publish_all(
            ingestor.producer, records, timeout_seconds=ingestor.publish_timeout_seconds
        )
    except PublishFailed as exc:
        log.warning(
            "publish_unacknowledged", tenant=tenant_id, records=len(records), error=str(exc)
        )
        raise ServiceUnavailable(
            "Kafka did not acknowledge the events; nothing was accepted, retry later",
            field="kafka",
            retry_after=ingestor.retry_after_seconds,
        ) from exc


# --- erasure -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErasureStatus:
    """An erasure and, per service, when it applied it (None: not yet)."""

    request: ErasureRequest
    services: dict[str, datetime | None]

    @property
    def status(self) -> str:
        return status_of({k: v for k, v in self.services.items() if v is not None})


async def request_erasure(
    ingestor: Context,
    tenant_id: str,
    person_id: str | None,
) -> ErasureStatus:
    """Record an erasure and its suppressed subject, and publish it for every service, in one
    transaction: answered only once Kafka has it, and rolled back when Kafka does not."""
    request = ErasureRequest(
        id=f"era_{uuid.uuid4().hex[:20]}",
        tenant_id=tenant_id,
        scope=ErasureScope.TENANT if person_id is None else ErasureScope.PERSON,
        person_id=person_id,
        requested_at=utc_now(),
    )
    hashed = subject_hash(tenant_id, person_id)
    async with ingestor.sessions.begin() as session:
        session.add(
            ErasureRow(
                id=request.id,
                tenant_id=tenant_id,
                scope=request.scope.value,
                subject_hash=hashed,
                requested_at=request.requested_at,
            )
        )
        await session.merge(
            ErasedSubjectRow(
                tenant_id=tenant_id, subject_hash=hashed, erased_at=request.requested_at
            )
        )
        await session.flush()
        record = OutgoingRecord(ingestor.topics.erasures, request.key, request.to_value(), [])
        await _publish(ingestor, tenant_id, [record])
    return ErasureStatus(request, dict.fromkeys(ERASURE_SERVICES))


async def erasure_status(
    sessions: async_sessionmaker[AsyncSession], erasure_id: str, tenant_id: str
) -> ErasureStatus:
    """The tenant's erasure and each service's progress; 404 for another tenant's."""
    async with sessions() as session:
        row = await session.get(ErasureRow, erasure_id)
        if row is None or row.tenant_id != tenant_id:
            raise NotFound(f"no erasure {erasure_id!r}", field="erasure_id")
        done = await session.execute(
            select(ErasureProgressRow.service, ErasureProgressRow.completed_at).where(
                ErasureProgressRow.erasure_id == erasure_id
            )
        )
        completed = dict(done.tuples().all())
    request = ErasureRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        scope=ErasureScope(row.scope),
        requested_at=row.requested_at,
    )
    return ErasureStatus(request, {name: completed.get(name) for name in ERASURE_SERVICES})


async def apply_erasure(session: AsyncSession, request: ErasureRequest) -> None:
    """A deleted tenant's row, keys and idempotent requests; a person has nothing here (ingest
    keeps no event)."""
    if request.scope is ErasureScope.TENANT:
        await erase_tenant(session, request.tenant_id)
