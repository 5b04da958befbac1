"""Correlation: a BRIN index on processed_at, to forget event ids past their retention.

Revision ID: correlation_0003
Revises: correlation_0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "correlation_0003"
down_revision: str | Sequence[str] | None = "correlation_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_corr_processed_events_processed_at",
        "corr_processed_events",
        ["processed_at"],
        unique=False,
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index("ix_corr_processed_events_processed_at", table_name="corr_processed_events")
