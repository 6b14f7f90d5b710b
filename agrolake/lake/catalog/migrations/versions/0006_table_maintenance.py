"""When each table was last maintained (compacted, checkpointed, vacuumed) and at which
version: a run maintains a table once it has had AGROLAKE_MAINTAIN_AFTER_COMMITS commits
since.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agrolake.lake.catalog.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_maintenance",
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("maintained_at", UTCDateTime, nullable=False),
        sa.Column("details", sa.JSON),
    )


def downgrade() -> None:
    op.drop_table("table_maintenance")
