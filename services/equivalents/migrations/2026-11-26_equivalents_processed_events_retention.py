"""Equivalents: a BRIN index on processed_at, to forget event ids past their retention.

Revision ID: equivalents_0002
Revises: equivalents_0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "equivalents_0002"
down_revision: str | Sequence[str] | None = "equivalents_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_equivalents_processed_events_processed_at",
        "equivalents_processed_events",
        ["processed_at"],
        unique=False,
        postgresql_using="brin",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_equivalents_processed_events_processed_at", table_name="equivalents_processed_events"
    )
