"""Training runs claimed per model, table version, estimator and parameters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from agrolake.lake.catalog.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("table_name", sa.String(200), primary_key=True),
        sa.Column("table_version", sa.BigInteger, primary_key=True),
        sa.Column("estimator", sa.String(100), primary_key=True),
        sa.Column("params_hash", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON),
        sa.Column("run_id", sa.String(64)),
        sa.Column("model_version", sa.String(20)),
        sa.Column("claimed_by", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("training_runs")
