"""Tenancy: erasure requests, each service's progress on them, and the suppressed subjects.

Revision ID: 0004_erasures
Revises: 0003_api_keys_last_used
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_erasures"
down_revision: str | Sequence[str] | None = "0003_api_keys_last_used"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    op.create_index(op.f("ix_erasures_tenant_id"), "erasures", ["tenant_id"], unique=False)
    op.create_table(
        "erasure_progress",
        sa.Column("erasure_id", sa.String(length=40), nullable=False),
        sa.Column("service", sa.String(length=40), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("erasure_id", "service", name=op.f("pk_erasure_progress")),
    )
    op.create_table(
        "erased_subjects",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "subject_hash", name=op.f("pk_erased_subjects")),
    )


def downgrade() -> None:
    op.drop_table("erased_subjects")
    op.drop_table("erasure_progress")
    op.drop_index(op.f("ix_erasures_tenant_id"), table_name="erasures")
    op.drop_table("erasures")
