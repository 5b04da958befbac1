"""Correlation: accounts, people, metric buckets, processed ids, plans, signals, health, outbox.

Revision ID: correlation_0001
Revises: 0001_tenancy
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "correlation_0001"
down_revision: str | Sequence[str] | None = "0001_tenancy"
branch_labels: str | Sequence[str] | None = ("correlation",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corr_accounts",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("traits", sa.JSON(), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", name=op.f("pk_corr_accounts")),
    )
    op.create_index(
        "ix_corr_accounts_segment", "corr_accounts", ["tenant_id", "segment"], unique=False
    )
    op.create_table(
        "corr_buckets",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("period_key", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "account_id", "metric", "unit", "period_key", name=op.f("pk_corr_buckets")
        ),
    )
    op.create_table(
        "corr_health",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("published_score", sa.Float(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", name=op.f("pk_corr_health")),
    )
    op.create_table(
        "corr_lifecycle_marks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("mark", sa.String(length=50), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corr_lifecycle_marks")),
    )
    op.create_index(
        "ix_corr_lifecycle_marks_account",
        "corr_lifecycle_marks",
        ["tenant_id", "account_id", "occurred_at"],
        unique=False,
    )
    op.create_table(
        "corr_outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_corr_outbox")),
        sa.UniqueConstraint("change_id", name=op.f("uq_corr_outbox_change_id")),
    )
    op.create_index("ix_corr_outbox_unsent", "corr_outbox", ["sent_at", "seq"], unique=False)
    op.create_table(
        "corr_pending_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("envelope", sa.JSON(), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corr_pending_events")),
    )
    op.create_index(
        "ix_corr_pending_events_person",
        "corr_pending_events",
        ["tenant_id", "person_id"],
        unique=False,
    )
    op.create_table(
        "corr_people",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "person_id", name=op.f("pk_corr_people")),
    )
    op.create_index(
        "ix_corr_people_account", "corr_people", ["tenant_id", "account_id"], unique=False
    )
    op.create_table(
        "corr_processed_events",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_corr_processed_events")),
    )
    op.create_table(
        "corr_signals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("signal_type", sa.String(length=50), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corr_signals")),
    )
    op.create_index(
        "ix_corr_signals_account",
        "corr_signals",
        ["tenant_id", "account_id", "state"],
        unique=False,
    )
    op.create_index(
        "uq_corr_signals_open",
        "corr_signals",
        ["tenant_id", "account_id", "signal_type", "subject"],
        unique=True,
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "corr_success_plans",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", name=op.f("pk_corr_success_plans")),
    )


def downgrade() -> None:
    op.drop_table("corr_success_plans")
    op.drop_table("corr_signals")
    op.drop_table("corr_processed_events")
    op.drop_table("corr_people")
    op.drop_table("corr_pending_events")
    op.drop_table("corr_outbox")
    op.drop_table("corr_lifecycle_marks")
    op.drop_table("corr_health")
    op.drop_table("corr_buckets")
    op.drop_table("corr_accounts")
