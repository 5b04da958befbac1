"""Correlation: each account's progress in event time (watermark, judged periods, idleness).

Revision ID: correlation_0004
Revises: correlation_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "correlation_0004"
down_revision: str | Sequence[str] | None = "correlation_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("corr_accounts") as batch:
        batch.add_column(sa.Column("watermark", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("judged_through", sa.String(length=20), nullable=True))
        batch.add_column(
            sa.Column("rejudge", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_corr_accounts_touched_at", "corr_accounts", ["touched_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_corr_accounts_touched_at", table_name="corr_accounts")
    with op.batch_alter_table("corr_accounts") as batch:
        batch.drop_column("touched_at")
        batch.drop_column("rejudge")
        batch.drop_column("judged_through")
        batch.drop_column("watermark")
