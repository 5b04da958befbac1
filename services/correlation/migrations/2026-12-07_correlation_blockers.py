"""Correlation: the latest event in event time about each blocker of an account.

Revision ID: correlation_0006
Revises: correlation_0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "correlation_0006"
down_revision: str | Sequence[str] | None = "correlation_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "corr_blockers",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("blocker_id", sa.String(length=200), nullable=False),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "blocker_id"),
    )


def downgrade() -> None:
    op.drop_table("corr_blockers")
