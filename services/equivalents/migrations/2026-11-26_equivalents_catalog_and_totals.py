"""Equivalents: tenant catalog entries and settings, processed events, daily totals, seats.

Revision ID: equivalents_0001
Revises: 0001_tenancy
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "equivalents_0001"
down_revision: str | Sequence[str] | None = "0001_tenancy"
branch_labels: str | Sequence[str] | None = ("equivalents",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "equivalents_tenant_entries",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "entry_id", name=op.f("pk_equivalents_tenant_entries")
        ),
    )
    op.create_table(
        "equivalents_tenant_settings",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("modes", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_equivalents_tenant_settings")),
    )
    op.create_table(
        "equivalents_processed_events",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "event_id", name=op.f("pk_equivalents_processed_events")
        ),
    )
    op.create_table(
        "equivalents_daily_totals",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "account_id",
            "metric",
            "unit",
            "day",
            name=op.f("pk_equivalents_daily_totals"),
        ),
    )
    op.create_table(
        "equivalents_active_people",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "account_id",
            "day",
            "person_id",
            name=op.f("pk_equivalents_active_people"),
        ),
    )
    op.create_table(
        "equivalents_account_seats",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "account_id", name=op.f("pk_equivalents_account_seats")
        ),
    )


def downgrade() -> None:
    op.drop_table("equivalents_account_seats")
    op.drop_table("equivalents_active_people")
    op.drop_table("equivalents_daily_totals")
    op.drop_table("equivalents_processed_events")
    op.drop_table("equivalents_tenant_settings")
    op.drop_table("equivalents_tenant_entries")
