"""Notifier: the value digests of each account, which recommendations quote.

Revision ID: notifier_0002
Revises: notifier_0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifier_0002"
down_revision: str | Sequence[str] | None = "notifier_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifier_account_values",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("digest", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "account_id", "period", name=op.f("pk_notifier_account_values")
        ),
    )


def downgrade() -> None:
    op.drop_table("notifier_account_values")
