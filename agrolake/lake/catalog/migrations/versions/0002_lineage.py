"""Table versions and their lineage: inputs read and ingests added.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agrolake.lake.catalog.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "table_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("table_name", sa.String(200), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("rebuild", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("rows", sa.BigInteger),
        sa.Column("quarantined", sa.BigInteger),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("table_name", "version", name="uq_table_versions"),
    )
    op.create_table(
        "table_version_inputs",
        sa.Column(
            "table_version_id", sa.Integer, sa.ForeignKey("table_versions.id"), primary_key=True
        ),
        sa.Column("input_table", sa.String(200), primary_key=True),
        sa.Column("input_version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "table_version_ingests",
        sa.Column(
            "table_version_id", sa.Integer, sa.ForeignKey("table_versions.id"), primary_key=True
        ),
        sa.Column("ingest_id", sa.String(40), primary_key=True),
    )
    op.create_index("ix_table_version_ingests_ingest_id", "table_version_ingests", ["ingest_id"])


def downgrade() -> None:
    op.drop_table("table_version_ingests")
    op.drop_table("table_version_inputs")
    op.drop_table("table_versions")
