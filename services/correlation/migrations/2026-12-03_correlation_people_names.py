"""Correlation: people's names and supervisors, so texts name the person and CSM tools show who
reports to whom.

Revision ID: correlation_0005
Revises: correlation_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "correlation_0005"
down_revision: str | Sequence[str] | None = "correlation_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("corr_people") as batch:
        batch.add_column(sa.Column("name", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("supervisor_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("corr_people") as batch:
        batch.drop_column("supervisor_id")
        batch.drop_column("name")
