"""The catalog's tables. Migrations under ``migrations/`` create them; keep both in step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC)


metadata = MetaData()

# One row per landing object version: a new upload under a used key is a new row.
ingests = Table(
    "ingests",
    metadata,
    Column("ingest_id", String(40), primary_key=True),
    Column("landing_key", Text, nullable=False),
    Column("landing_version", String(200), nullable=False),
    Column("original_name", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), index=True),
    Column("dataset", String(100), index=True),
    Column("source", String(100)),
    Column("contract_version", Integer),
    Column("status", String(20), nullable=False, index=True),
    Column("reason", Text),
    Column("details", JSON),
    Column("raw_key", Text),
    Column("invalid_key", Text),
    Column("duplicate_of", String(40)),
    Column("claimed_by", String(200)),
    Column("lease_until", UTCDateTime, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    # Failed attempts at the current stage (0005): trusted gives up at the maximum.
    Column("failures", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("landing_key", "landing_version", name="uq_ingests_landing_object"),
)

# Which ingest owns a content hash in raw: the primary key makes "same bytes twice"
# a constraint the database enforces, not a check two workers could both pass.
raw_contents = Table(
    "raw_contents",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("ingest_id", String(40), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Every table version agrolake writes, what it read and which ingests it added.
# A version "contains" the ingests added since the last rebuild up to it; a
# refined version contains what its inputs contain.
table_versions = Table(
    "table_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("table_name", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("operation", String(40), nullable=False),
    Column("rebuild", Boolean, nullable=False, default=False),
    Column("rows", BigInteger),
    Column("quarantined", BigInteger),
    Column("created_at", UTCDateTime, nullable=False),
    # domain.name: where the table lives in its zone's bucket (0004).
    Column("table_id", String(200)),
    # Fingerprint of the dataset declaration that wrote a trusted version (0004).
    Column("declaration", String(64)),
    UniqueConstraint("table_name", "version", name="uq_table_versions"),
)

table_version_inputs = Table(
    "table_version_inputs",
    metadata,
    Column("table_version_id", Integer, ForeignKey("table_versions.id"), primary_key=True),
    Column("input_table", String(200), primary_key=True),
    Column("input_version", BigInteger, nullable=False),
)

table_version_ingests = Table(
    "table_version_ingests",
    metadata,
    Column("table_version_id", Integer, ForeignKey("table_versions.id"), primary_key=True),
    Column("ingest_id", String(40), primary_key=True, index=True),
)

# One row per (model, table version, estimator, parameters) trained: the primary
# key makes "two triggers never train twice" a constraint, as for raw contents.
training_runs = Table(
    "training_runs",
    metadata,
    Column("model", String(200), primary_key=True),
    Column("table_name", String(200), primary_key=True),
    Column("table_version", BigInteger, primary_key=True),
    Column("estimator", String(100), primary_key=True),
    Column("params_hash", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("params", JSON),
    Column("run_id", String(64)),
    Column("model_version", String(20)),
    Column("claimed_by", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
