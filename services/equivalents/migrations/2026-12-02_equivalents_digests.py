"""Equivalents: tenant digest preferences and the value digests of each account and period.

Revision ID: equivalents_0003
Revises: equivalents_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "equivalents_0003"
down_revision: str | Sequence[str] | None = "equivalents_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("equivalents_tenant_settings", sa.Column("digest", sa.JSON(), nullable=True))
    op.create_table(
        "equivalents_digests",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "account_id", "period", name=op.f("pk_equivalents_digests")
        ),
    )
    op.create_index(
        "ix_equivalents_digests_unpublished",
        "equivalents_digests",
        ["published_at", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_equivalents_digests_unpublished", table_name="equivalents_digests")
    op.drop_table("equivalents_digests")
    op.drop_column("equivalents_tenant_settings", "digest")
