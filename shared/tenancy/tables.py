"""Tenancy tables: tenants and their API keys (stored as hashes), which every service reads to
authenticate requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UtcDateTime


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # Written when a service looks the key up rather than on every request: as precise as
    # the resolvers' cache time.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
