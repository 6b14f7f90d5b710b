"""Failures per ingest, and an index for finding live claims.

``failures`` counts the attempts at an ingest's current stage that failed; at
``AGROLAKE_MAX_ATTEMPTS`` trusted gives the ingest up (status ``failed``, with
its reason) instead of trying it again on every run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingests") as batch:
        batch.add_column(sa.Column("failures", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_ingests_lease_until", "ingests", ["lease_until"])


def downgrade() -> None:
    op.drop_index("ix_ingests_lease_until", "ingests")
    with op.batch_alter_table("ingests") as batch:
        batch.drop_column("failures")
