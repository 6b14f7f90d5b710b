"""Table versions and lineage: what each version read and which ingests it holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from agrolake.lake.catalog.database import translated_errors
from agrolake.lake.catalog.schema import table_version_ingests, table_version_inputs, table_versions


@dataclass(frozen=True)
class TableVersion:
    table: str
    version: int
    operation: str
    rebuild: bool
    rows: int | None
    quarantined: int | None
    inputs: dict[str, int] = field(default_factory=dict)
    added: tuple[str, ...] = ()
    table_id: str | None = None
    declaration: str | None = None
    created_at: datetime | None = None


class Lineage:
    """Lineage records in the catalog database."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    def record(
        self,
        table: str,
        version: int,
        operation: str,
        *,
        rebuild: bool = False,
        rows: int | None = None,
        quarantined: int | None = None,
        inputs: Mapping[str, int] | None = None,
        ingests: Iterable[str] = (),
        table_id: str | None = None,
        declaration: str | None = None,
    ) -> None:
        """Record a version written; idempotent for a version recorded before (a retry)."""
        with translated_errors(self.url, "lineage record"), self.engine.begin() as conn:
            known = conn.execute(
                select(table_versions.c.id)
                .where(table_versions.c.table_name == table)
                .where(table_versions.c.version == version)
            ).scalar()
            if known is not None:
                return
            version_id = conn.execute(
                insert(table_versions)
                .values(
                    table_name=table,
                    version=version,
                    operation=operation,
                    rebuild=rebuild,
                    rows=rows,
                    quarantined=quarantined,
                    created_at=datetime.now(UTC),
                    table_id=table_id,
                    declaration=declaration,
                )
                .returning(table_versions.c.id)
            ).scalar_one()
            if inputs:
                conn.execute(
                    insert(table_version_inputs),
                    [
                        {"table_version_id": version_id, "input_table": t, "input_version": v}
                        for t, v in inputs.items()
                    ],
                )
            added = sorted(set(ingests))
            if added:
                conn.execute(
                    insert(table_version_ingests),
                    [{"table_version_id": version_id, "ingest_id": i} for i in added],
                )

    def versions(self, table: str) -> list[TableVersion]:
        """Every recorded version of ``table``, oldest first."""
        return self._load(table).get(table, [])

    def _load(
        self, table: str | None = None, version: int | None = None, newest: bool = False
    ) -> dict[str, list[TableVersion]]:
        """Versions of one table (only ``version``, or only the ``newest``), or of all:
        three queries, whatever the count. One version reads only its own rows: a
        long-lived table has thousands, each with its ingests."""
        c = table_versions.c
        with translated_errors(self.url, "lineage lookup"), self.engine.connect() as conn:
            query = select(table_versions).order_by(c.version, c.id)
            if table is not None:
                query = query.where(c.table_name == table)
            if version is not None:
                query = query.where(c.version == version).limit(1)
            if newest:
                query = query.order_by(None).order_by(c.version.desc(), c.id.desc()).limit(1)
            rows = conn.execute(query).all()
            ids = [r.id for r in rows]
            inputs: dict[int, dict[str, int]] = {i: {} for i in ids}
            added: dict[int, list[str]] = {i: [] for i in ids}
            if ids:
                for r in conn.execute(
                    select(table_version_inputs).where(
                        table_version_inputs.c.table_version_id.in_(ids)
                    )
                ):
                    inputs[r.table_version_id][r.input_table] = r.input_version
                for r in conn.execute(
                    select(table_version_ingests).where(
                        table_version_ingests.c.table_version_id.in_(ids)
                    )
                ):
                    added[r.table_version_id].append(r.ingest_id)
        found: dict[str, list[TableVersion]] = {}
        for r in rows:
            found.setdefault(r.table_name, []).append(
                TableVersion(
                    r.table_name,
                    r.version,
                    r.operation,
                    r.rebuild,
                    r.rows,
                    r.quarantined,
                    inputs[r.id],
                    tuple(sorted(added[r.id])),
                    r.table_id,
                    r.declaration,
                    r.created_at,
                )
            )
        return found

    def tables(self) -> dict[str, str | None]:
        """Every table with a recorded version: SQL name → table id (None if unknown)."""
        with translated_errors(self.url, "lineage lookup"), self.engine.connect() as conn:
            rows = conn.execute(
                select(table_versions.c.table_name, table_versions.c.table_id).distinct()
            ).all()
        found: dict[str, str | None] = {}
        for name, table_id in rows:
            found[name] = found.get(name) or table_id
        return found

    def latest(self, table: str) -> TableVersion | None:
        found = self._load(table, newest=True).get(table)
        return found[0] if found else None

    def version(self, table: str, version: int | None = None) -> TableVersion | None:
        if version is None:
            return self.latest(table)
        found = self._load(table, version=version).get(table)
        return found[0] if found else None

    def contained(self, table: str, version: int) -> set[str]:
        """The ingests whose rows a version holds: added since its last rebuild, or its inputs'."""
        return set(_Snapshot(self._load()).contained(table, version))

    def first_versions_with(self, ingest_ids: set[str]) -> list[dict[str, Any]]:
        """For each table, the first version holding any of the ingests."""
        snapshot = _Snapshot(self._load())
        found = []
        for table, versions in sorted(snapshot.tables.items()):
            for version in versions:
                if snapshot.contained(table, version.version) & ingest_ids:
                    found.append({"table": table, "version": version.version})
                    break
        return found


class _Snapshot:
    """All recorded versions at once, with containment memoised."""

    def __init__(self, tables: dict[str, list[TableVersion]]) -> None:
        self.tables = tables
        self._memo: dict[tuple[str, int], frozenset[str]] = {}

    def contained(self, table: str, version: int) -> frozenset[str]:
        if (table, version) not in self._memo:
            self._memo[table, version] = self._contained(table, version)
        return self._memo[table, version]

    def _contained(self, table: str, version: int) -> frozenset[str]:
        history = [v for v in self.tables.get(table, []) if v.version <= version]
        if not history:
            return frozenset()
        if history[-1].inputs:
            found: set[str] = set()
            for name, input_version in history[-1].inputs.items():
                found |= self.contained(name, input_version)
            return frozenset(found)
        start = max((i for i, v in enumerate(history) if v.rebuild), default=0)
        return frozenset(ingest for v in history[start:] for ingest in v.added)
