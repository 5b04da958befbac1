"""Tables of the notifier: recommendations, webhook endpoints and the delivery log.

notifier_processed_messages signal change and digest ids already handled (idempotent consumer)
notifier_account_values     the value digests of each account, quoted by recommendations
notifier_recommendations    one per signal change that produced advice
notifier_endpoints          a tenant's webhook endpoints, secrets and health
notifier_messages           the outbox: one signed body per event, stored before any attempt
notifier_deliveries         one per (message, endpoint): status, attempts, next attempt time
notifier_attempts           one per HTTP attempt: status code, latency, response excerpt
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, UtcDateTime

# SQLite only autoincrements an INTEGER PRIMARY KEY.
Serial = BigInteger().with_variant(Integer(), "sqlite")


class ProcessedMessageRow(Base):
    """A signal change or digest id already handled: a redelivery is skipped
    (``shared.idempotency``, forgotten after the retention like the other services' ids)."""

    __tablename__ = "notifier_processed_messages"
    __table_args__ = (
        Index(
            "ix_notifier_processed_messages_processed_at", "processed_at", postgresql_using="brin"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class AccountValueRow(Base):
    """One value digest of an account, as the equivalents service published it."""

    __tablename__ = "notifier_account_values"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_end: Mapped[date] = mapped_column(Date)
    digest: Mapped[dict[str, Any]] = mapped_column(JSON)


class RecommendationRow(Base):
    __tablename__ = "notifier_recommendations"
    __table_args__ = (
        Index("ix_notifier_recommendations_tenant_account", "tenant_id", "account_id"),
    )

    seq: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(200))
    signal_change_id: Mapped[str] = mapped_column(String(200), unique=True)
    signal_type: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    actions: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    links: Mapped[dict[str, str]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class EndpointRow(Base):
    __tablename__ = "notifier_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MessageRow(Base):
    __tablename__ = "notifier_messages"
    __table_args__ = (Index("ix_notifier_messages_tenant_created", "tenant_id", "created_at"),)

    seq: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[str | None] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeliveryRow(Base):
    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index("ix_notifier_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(ForeignKey("notifier_messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("notifier_endpoints.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Never loaded (lazy="raise"); it tells the unit of work to insert a batch's messages
    # before their deliveries.
    message: Mapped[MessageRow] = relationship(lazy="raise")


class AttemptRow(Base):
    __tablename__ = "notifier_attempts"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("notifier_deliveries.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(40), index=True)
    endpoint_id: Mapped[str] = mapped_column(String(40))
    attempt_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    latency_ms: Mapped[float] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(Text, default=None)
    error: Mapped[str | None] = mapped_column(String(1000), default=None)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime())
