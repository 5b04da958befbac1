"""Shared tables: idempotent requests and erasure bookkeeping (the tenancy tables are in
``shared.tenancy.tables``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UtcDateTime


class IdempotentRequestRow(Base):
    """A management POST made with an ``Idempotency-Key``, and the answer it got.

    ``status_code`` 0 marks a request still running under that key.
    """

    __tablename__ = "idempotent_requests"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    route: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ErasureRow(Base):
    """An erasure requested: a whole tenant, or one person of a tenant (by hash only)."""

    __tablename__ = "erasures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40), index=True)
    scope: Mapped[str] = mapped_column(String(10))
    subject_hash: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ErasureProgressRow(Base):
    """One service applied one erasure (written in the transaction that applied it)."""

    __tablename__ = "erasure_progress"

    erasure_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ErasedSubjectRow(Base):
    """A tenant (``subject_hash`` "") or a person (the hash of tenant and person id) whose
    events are dropped from now on: what is erased is never re-created by events in flight."""

    __tablename__ = "erased_subjects"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())
