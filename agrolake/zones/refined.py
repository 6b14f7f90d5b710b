"""Trusted → refined: the tables the registry declares on trusted ones (the digital
twin, the ML feature table).

A refined table is rebuilt from the current versions of its inputs when any of
them changed since it was last built (the catalog remembers which versions it
read), then written by MERGE on its key with deletion of vanished rows, so the
Delta log shows only what changed and time travel keeps the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl

from agrolake.datasets.cleaning import cleaning_of
from agrolake.datasets.model import CleanOptions, RefinedTable
from agrolake.datasets.raw_contract import raw_columns
from agrolake.datasets.registry import Registry, load_registry
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.tables import TableRef, parse_table
from agrolake.transforms.row_errors import valid_rows
from agrolake.zones.trusted import TableWrite

META: dict[str, pl.DataType | type[pl.DataType]] = {
    "_ingest_id": pl.String,
    "_ingested_at": pl.Datetime("us", "UTC"),
    "_source": pl.String,
}


@dataclass
class RefinedSummary:
    writes: list[TableWrite] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        built = ", ".join(f"{w.table} v{w.version} ({w.rows} rows)" for w in self.writes)
        return f"refined: {built or 'up to date'} ({self.seconds:.1f} s)"


def inputs_of(registry: Registry, table: RefinedTable) -> list[TableRef]:
    """The tables a refined table reads, in its build function's order."""
    return [parse_table(name, registry.table_refs()) for name in table.inputs]


def process_refined(
    lake: Lake,
    *,
    force: bool = False,
    registry: Registry | None = None,
    on_progress: ProgressCallback = no_progress,
) -> RefinedSummary:
    """Rebuild each refined table whose inputs have new versions (all with ``force``)."""
    started = time.perf_counter()
    registry = registry or load_registry(lake.settings)
    summary = RefinedSummary()
    for done, table in enumerate(registry.refined):
        on_progress(f"refined {table.name}", done, len(registry.refined))
        if (versions := ready(lake, registry, table)) is None:
            continue
        read = {ref.sql_name: v for ref, v in versions.items() if v is not None}
        latest = lake.catalog.lineage.latest(TableRef("refined", table.name).sql_name)
        if not force and latest is not None and latest.inputs == read:
            continue
        summary.writes.append(build(lake, registry, table, versions))
    on_progress("refined", len(registry.refined), len(registry.refined))
    summary.seconds = time.perf_counter() - started
    return summary


def ready(lake: Lake, registry: Registry, table: RefinedTable) -> dict[TableRef, int | None] | None:
    """The current version of each input, or None while a required input does not exist."""
    versions = {ref: lake.tables.version(ref) for ref in inputs_of(registry, table)}
    required = {parse_table(name, registry.table_refs()) for name in table.required}
    return None if any(versions[ref] is None for ref in required) else versions


def build(
    lake: Lake, registry: Registry, table: RefinedTable, versions: dict[TableRef, int | None]
) -> TableWrite:
    """Build one refined table from the given input versions and record its lineage."""
    ref = TableRef("refined", table.name)
    frames = [_input(lake, registry, r, versions[r]) for r in inputs_of(registry, table)]
    result = table.build(*frames, **table.options(lake.settings)).collect()
    data = result.to_arrow()
    if table.key:
        version = lake.tables.merge(ref, data, table.key, table.partition_by, delete_missing=True)
    else:
        version = lake.tables.overwrite(ref, data, table.partition_by)
    inputs = {r.sql_name: v for r, v in versions.items() if v is not None}
    lake.catalog.lineage.record(
        ref.sql_name, version, "merge" if table.key else "overwrite",
        rows=result.height, inputs=inputs, table_id=ref.id,
    )  # fmt: skip
    return TableWrite(ref.sql_name, version, result.height)


def _input(lake: Lake, registry: Registry, ref: TableRef, version: int | None) -> pl.LazyFrame:
    data = lake.tables.read(ref, version) if version is not None else None
    if data is not None:
        return pl.from_arrow(data).lazy()  # type: ignore[union-attr]
    return empty_trusted(registry, ref)


def empty_trusted(registry: Registry, ref: TableRef) -> pl.LazyFrame:
    """A trusted table with no rows yet (a missing input), as its cleaning would make it."""
    _, table = registry.feeds(ref.sql_name)[0]
    columns = raw_columns(table)
    raw = pl.DataFrame(schema={c: pl.String for c in (*columns.required, *columns.optional)})
    raw = raw.with_columns(pl.lit(None, dtype=pl.Int64).alias("_row"))
    cleaned = valid_rows(cleaning_of(table)(raw.lazy(), CleanOptions()))
    return cleaned.with_columns(pl.lit(None, dtype=dtype).alias(n) for n, dtype in META.items())
