"""Notifier: processed ids keyed like every service's (tenant, id), forgotten after retention.

The ids already recorded move to the new table, so nothing handled before is handled again.

Revision ID: notifier_0003
Revises: notifier_0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifier_0003"
down_revision: str | Sequence[str] | None = "notifier_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifier_processed_messages",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "event_id", name=op.f("pk_notifier_processed_messages")
        ),
    )
    op.create_index(
        "ix_notifier_processed_messages_processed_at",
        "notifier_processed_messages",
        ["processed_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.execute(
        "INSERT INTO notifier_processed_messages (tenant_id, event_id, processed_at) "
        "SELECT tenant_id, change_id, processed_at FROM notifier_processed_changes"
    )
    op.drop_table("notifier_processed_changes")


def downgrade() -> None:
    op.create_table(
        "notifier_processed_changes",
        sa.Column("change_id", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_notifier_processed_changes")),
    )
    op.execute(
        "INSERT INTO notifier_processed_changes (change_id, tenant_id, processed_at) "
        "SELECT event_id, MIN(tenant_id), MIN(processed_at) FROM notifier_processed_messages "
        "GROUP BY event_id"
    )
    op.drop_index(
        "ix_notifier_processed_messages_processed_at", table_name="notifier_processed_messages"
    )
    op.drop_table("notifier_processed_messages")
