"""Landing ingests and raw content ownership.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agrolake.lake.catalog.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingests",
        sa.Column("ingest_id", sa.String(40), primary_key=True),
        sa.Column("landing_key", sa.Text, nullable=False),
        sa.Column("landing_version", sa.String(200), nullable=False),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("dataset", sa.String(100)),
        sa.Column("source", sa.String(100)),
        sa.Column("contract_version", sa.Integer),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.JSON),
        sa.Column("raw_key", sa.Text),
        sa.Column("invalid_key", sa.Text),
        sa.Column("duplicate_of", sa.String(40)),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("landing_key", "landing_version", name="uq_ingests_landing_object"),
    )
    op.create_index("ix_ingests_sha256", "ingests", ["sha256"])
    op.create_index("ix_ingests_dataset", "ingests", ["dataset"])
    op.create_index("ix_ingests_status", "ingests", ["status"])
    op.create_table(
        "raw_contents",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("ingest_id", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("raw_contents")
    op.drop_table("ingests")
