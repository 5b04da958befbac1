"""Tables of the equivalents service: tenant catalog entries and parameters, daily usage totals.

The consumer writes ``equivalents_processed_events`` in the same transaction as the totals, the
active people and the seats it derives from those events, so a redelivered event is skipped.
Days are UTC calendar days of the event's ``occurred_at``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UtcDateTime

TENANT_ID_LENGTH = 40


class TenantEntryRow(Base):
    """A tenant-defined catalog entry (new, or overriding a shipped id for this tenant only)."""

    __tablename__ = "equivalents_tenant_entries"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class TenantSettingsRow(Base):
    """A tenant's chain parameters (as given: numbers or quantities), modes per metric and
    digest preferences."""

    __tablename__ = "equivalents_tenant_settings"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    modes: Mapped[dict[str, Any]] = mapped_column(JSON)
    digest: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ProcessedEventRow(Base):
    """An event already counted; its id is skipped when Kafka delivers it again."""

    __tablename__ = "equivalents_processed_events"
    # BRIN: ids are inserted in time order, so a tiny index finds the ones to forget, and
    # maintaining it adds next to nothing to the consumer's inserts.
    __table_args__ = (
        Index(
            "ix_equivalents_processed_events_processed_at", "processed_at", postgresql_using="brin"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class DailyTotalRow(Base):
    """The sum of one usage metric's values for one account on one UTC day, per unit sent."""

    __tablename__ = "equivalents_daily_totals"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    metric: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit: Mapped[str] = mapped_column(String(50), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    total: Mapped[float] = mapped_column(Float)
    events: Mapped[int] = mapped_column(BigInteger)


class ActivePersonRow(Base):
    """A person who used the product for an account on a UTC day (adoption counts them)."""

    __tablename__ = "equivalents_active_people"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class AccountSeatsRow(Base):
    """An account's licensed seats from its latest ``account.identified`` event."""

    __tablename__ = "equivalents_account_seats"

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seats: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime())


class DigestRow(Base):
    """The value digest of one account and period: written once, then published.

    The primary key makes a period's digest unique; ``published_at`` is stamped after the
    broker acknowledged it, so a crash in between publishes the same digest (same id) again.
    """

    __tablename__ = "equivalents_digests"
    __table_args__ = (Index("ix_equivalents_digests_unpublished", "published_at", "created_at"),)

    tenant_id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
