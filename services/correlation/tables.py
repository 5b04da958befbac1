"""Tables of the correlation service (migration branch ``correlation``).

Every table starts with ``tenant_id`` and every query filters on it. Accounts and people use the
tenant's external ids as keys, so events can be attributed without a lookup of internal ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UtcDateTime

# SQLite only autoincrements an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class AccountRow(Base):
    """An account (the vendor's customer) as identified by ``account.identified`` or events."""

    __tablename__ = "corr_accounts"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(500), default=None)
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    segment: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    # Progress in event time (``evaluation.Progress``): the latest occurred_at of a value
    # applied, the last period the period rules judged, whether a value arrived for a judged
    # period since, and when an event was last applied (processing time).
    watermark: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    judged_through: Mapped[str | None] = mapped_column(String(20), default=None)
    rejudge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    touched_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (
        Index("ix_corr_accounts_segment", "tenant_id", "segment"),
        # The sweeper looks for accounts with periods left to judge, the idle ones first.
        Index("ix_corr_accounts_touched_at", "touched_at"),
    )


class PersonRow(Base):
    """A person of an account; an alias gets its own row linked to the same account."""

    __tablename__ = "corr_people"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[str | None] = mapped_column(String(50), default=None)
    status: Mapped[str] = mapped_column(String(20), default="active")
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    name: Mapped[str | None] = mapped_column(String(500), default=None)
    supervisor_id: Mapped[str | None] = mapped_column(String(200), default=None)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_corr_people_account", "tenant_id", "account_id"),)


class LifecycleMarkRow(Base):
    """A dated organisational change of an account (reorganisation, role change)."""

    __tablename__ = "corr_lifecycle_marks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(200))
    mark: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_corr_lifecycle_marks_account", "tenant_id", "account_id", "occurred_at"),
    )


class BlockerRow(Base):
    """When the latest event about one blocker of an account happened, and whether it reported
    or resolved it: events about it that happened before arrived late and change nothing."""

    __tablename__ = "corr_blockers"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    blocker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    reported: Mapped[bool] = mapped_column(Boolean)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BucketRow(Base):
    """One metric's values in one period for one account."""

    __tablename__ = "corr_buckets"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    sum: Mapped[float] = mapped_column(Float)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    last_value: Mapped[float] = mapped_column(Float)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProcessedEventRow(Base):
    """An event id already applied: a redelivered event is skipped."""

    __tablename__ = "corr_processed_events"
    # BRIN: ids are inserted in time order, so a tiny index finds the ones to forget, and
    # maintaining it adds next to nothing to the consumer's inserts.
    __table_args__ = (
        Index("ix_corr_processed_events_processed_at", "processed_at", postgresql_using="brin"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class PendingEventRow(Base):
    """An event whose person is not linked to an account yet; attributed once the link arrives."""

    __tablename__ = "corr_pending_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(String(200))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())

    __table_args__ = (Index("ix_corr_pending_events_person", "tenant_id", "person_id"),)


class SuccessPlanRow(Base):
    """An account's success plan (``plans.SuccessPlan`` as JSON)."""

    __tablename__ = "corr_success_plans"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignalRow(Base):
    """A risk or milestone signal; at most one open per (tenant, account, type, subject)."""

    __tablename__ = "corr_signals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(200))
    signal_type: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (
        Index("ix_corr_signals_account", "tenant_id", "account_id", "state"),
        Index(
            "uq_corr_signals_open",
            "tenant_id",
            "account_id",
            "signal_type",
            "subject",
            unique=True,
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
    )


class HealthSnapshotRow(Base):
    """An account's latest health, and the score last published in ``health.changed``."""

    __tablename__ = "corr_health"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    published_score: Mapped[float | None] = mapped_column(Float, default=None)
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())

    # The sweeper looks for the accounts evaluated longest ago.
    __table_args__ = (Index("ix_corr_health_computed_at", "computed_at"),)


class OutboxRow(Base):
    """A signal change written with the state change; the relay publishes it, then stamps it.

    ``change_id`` is the ``SignalChange.id``: stable across re-publishes after a crash.
    """

    __tablename__ = "corr_outbox"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_corr_outbox_unsent", "sent_at", "seq"),)
