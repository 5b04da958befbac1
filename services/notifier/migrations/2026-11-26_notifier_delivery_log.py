"""Notifier: recommendations, webhook endpoints, the message outbox and the delivery log.

Revision ID: notifier_0001
Revises: 0001_tenancy
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifier_0001"
down_revision: str | Sequence[str] | None = "0001_tenancy"
branch_labels: str | Sequence[str] | None = ("notifier",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "notifier_processed_changes",
        sa.Column("change_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_notifier_processed_changes")),
    )
    op.create_table(
        "notifier_endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=300), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("previous_secret", sa.String(length=100), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notifier_endpoints_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_endpoints")),
    )
    with op.batch_alter_table("notifier_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifier_endpoints_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "notifier_messages",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notifier_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notifier_messages")),
        sa.UniqueConstraint("id", name=op.f("uq_notifier_messages_id")),
    )
    with op.batch_alter_table("notifier_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifier_messages_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "notifier_recommendations",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("signal_change_id", sa.String(length=200), nullable=False),
        sa.Column("signal_type", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notifier_recommendations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notifier_recommendations")),
        sa.UniqueConstraint("id", name=op.f("uq_notifier_recommendations_id")),
        sa.UniqueConstraint(
            "signal_change_id", name=op.f("uq_notifier_recommendations_signal_change_id")
        ),
    )
    with op.batch_alter_table("notifier_recommendations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifier_recommendations_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifier_recommendations_tenant_account", ["tenant_id", "account_id"], unique=False
        )

    op.create_table(
        "notifier_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notifier_endpoints.id"],
            name=op.f("fk_notifier_deliveries_endpoint_id_notifier_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notifier_messages.id"],
            name=op.f("fk_notifier_deliveries_message_id_notifier_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_deliveries")),
        sa.UniqueConstraint(
            "message_id", "endpoint_id", name=op.f("uq_notifier_deliveries_message_id_endpoint_id")
        ),
    )
    with op.batch_alter_table("notifier_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifier_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifier_deliveries_endpoint_id"), ["endpoint_id"], unique=False
        )

    op.create_table(
        "notifier_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["notifier_deliveries.id"],
            name=op.f("fk_notifier_attempts_delivery_id_notifier_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_attempts")),
    )
    with op.batch_alter_table("notifier_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifier_attempts_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifier_attempts_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("notifier_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifier_attempts_message_id"))
        batch_op.drop_index(batch_op.f("ix_notifier_attempts_delivery_id"))

    op.drop_table("notifier_attempts")
    with op.batch_alter_table("notifier_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifier_deliveries_endpoint_id"))
        batch_op.drop_index("ix_notifier_deliveries_due")

    op.drop_table("notifier_deliveries")
    with op.batch_alter_table("notifier_recommendations", schema=None) as batch_op:
        batch_op.drop_index("ix_notifier_recommendations_tenant_account")
        batch_op.drop_index(batch_op.f("ix_notifier_recommendations_created_at"))

    op.drop_table("notifier_recommendations")
    with op.batch_alter_table("notifier_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_notifier_messages_tenant_created")

    op.drop_table("notifier_messages")
    with op.batch_alter_table("notifier_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifier_endpoints_tenant_id"))

    op.drop_table("notifier_endpoints")
    op.drop_table("notifier_processed_changes")
