"""Correlation: index health snapshots by evaluation time for the sweeper.

Revision ID: correlation_0002
Revises: correlation_0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "correlation_0002"
down_revision: str | Sequence[str] | None = "correlation_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_corr_health_computed_at", "corr_health", ["computed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_corr_health_computed_at", table_name="corr_health")
