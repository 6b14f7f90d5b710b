"""The catalog's record of table maintenance, and the versions other records pin."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from agrolake.lake.catalog.database import translated_errors
from agrolake.lake.catalog.schema import table_maintenance, table_versions, training_runs


class UpkeepLog:
    """When tables were maintained; which versions lineage and training point to."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    def record(self, table: str, version: int, details: Mapping[str, Any]) -> None:
        """A maintenance of ``table`` that left it at ``version``."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        values = {"version": version, "maintained_at": datetime.now(UTC), "details": dict(details)}
        insert = dialect.insert(table_maintenance).values(table_name=table, **values)
        with translated_errors(self.url, "maintenance record"), self.engine.begin() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=["table_name"], set_=values))

    def maintained(self) -> dict[str, int]:
        """Each maintained table → the version its last maintenance left."""
        query = select(table_maintenance.c.table_name, table_maintenance.c.version)
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            return {name: int(version) for name, version in conn.execute(query)}

    def latest_written(self) -> dict[str, int]:
        """Each table agrolake wrote → the newest version it recorded (one query)."""
        query = select(table_versions.c.table_name, func.max(table_versions.c.version)).group_by(
            table_versions.c.table_name
        )
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            return {name: int(version) for name, version in conn.execute(query)}

    def trained(self) -> list[tuple[str, int, str]]:
        """Table versions a training run claimed: (table, version, model and run)."""
        query = select(
            training_runs.c.table_name,
            training_runs.c.table_version,
            training_runs.c.model,
            training_runs.c.model_version,
            training_runs.c.run_id,
        )
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            (table, int(version), f"training of {model}" + (f"/{mv}" if mv else f" (run {run})"))
            for table, version, model, mv, run in rows
        ]
