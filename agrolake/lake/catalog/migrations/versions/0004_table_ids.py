"""Table ids and declaration fingerprints on table versions.

A table version was recorded by its SQL name only; a declared dataset's table can
be removed from the registry and must still be found (orphaned, queryable), so
each version now records its table id (``domain.name``, its storage path) and the
fingerprint of the declaration that wrote it (a rebuild is due when it changes).
Rows of earlier releases get the ids of the tables those releases had.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Every table agrolake 0.1 wrote: SQL name -> table id.
EARLIER = {
    "trusted.erp_parcels": "erp.parcels",
    "trusted.erp_treatments": "erp.treatments",
    "trusted.erp_activities": "erp.activities",
    "trusted.lab_wine_quality": "lab.wine_quality",
    "trusted.weather_daily": "weather.daily",
    "trusted.remote_sensing_ndvi": "remote_sensing.ndvi",
    "trusted.quarantine_rows": "quarantine.rows",
    "refined.digital_twin_enclosures": "digital_twin.enclosures",
    "refined.digital_twin_treatments": "digital_twin.treatments",
    "refined.digital_twin_activities": "digital_twin.activities",
    "refined.ml_wine_quality": "ml.wine_quality",
}


def upgrade() -> None:
    with op.batch_alter_table("table_versions") as batch:
        batch.add_column(sa.Column("table_id", sa.String(200)))
        batch.add_column(sa.Column("declaration", sa.String(64)))
    versions = sa.table(
        "table_versions", sa.column("table_name", sa.String), sa.column("table_id", sa.String)
    )
    for name, table_id in EARLIER.items():
        op.execute(versions.update().where(versions.c.table_name == name).values(table_id=table_id))


def downgrade() -> None:
    with op.batch_alter_table("table_versions") as batch:
        batch.drop_column("declaration")
        batch.drop_column("table_id")
