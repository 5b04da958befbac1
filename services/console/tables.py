"""Tables of the console (migration branch ``console``).

Only hashes of the session and share tokens are stored; the tenant's secret key is sealed
(AES-GCM) with the console's secret, so a copy of the table opens nothing without it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UtcDateTime


class ConsoleSessionRow(Base):
    """A CSM signed in with a tenant's secret key."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    tenant_name: Mapped[str] = mapped_column(String(200))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ShareRow(Base):
    """A read-only, expiring, revocable link to one account's page."""

    __tablename__ = "console_shares"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(200))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    __table_args__ = (Index("ix_console_shares_account", "tenant_id", "account_id"),)
