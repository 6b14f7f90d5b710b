"""Trusted → refined: the digital twin and the ML feature tables.

A refined table is rebuilt from the current versions of its trusted inputs when
any of them changed since it was last built (the catalog remembers which
versions it read), then written by MERGE on its key with deletion of vanished
rows, so the Delta log shows only what changed and time travel keeps the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from agrolake.contracts import all_contracts
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.lake.tables import TableRef
from agrolake.transforms import CleanOptions, valid_rows
from agrolake.transforms import twin as t
from agrolake.zones.trusted import TableWrite

PARCELS = TableRef("trusted", "erp.parcels")
TREATMENTS = TableRef("trusted", "erp.treatments")
ACTIVITIES = TableRef("trusted", "erp.activities")
WINE = TableRef("trusted", "lab.wine_quality")
WEATHER = TableRef("trusted", "weather.daily")
NDVI = TableRef("trusted", "remote_sensing.ndvi")
META: dict[str, pl.DataType | type[pl.DataType]] = {
    "_ingest_id": pl.String,
    "_ingested_at": pl.Datetime("us", "UTC"),
    "_source": pl.String,
}


@dataclass(frozen=True)
class RefinedTable:
    """A refined table: what it is built from, how, and how it is written."""

    ref: TableRef
    inputs: tuple[TableRef, ...]
    build: Callable[..., pl.LazyFrame]
    key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    required: tuple[TableRef, ...] = field(default=())  # not built until these exist
    # Keyword arguments of ``build`` that come from the settings (the growing season).
    options: Callable[[Settings], dict[str, Any]] = field(default=lambda _: {})


def _season(settings: Settings) -> dict[str, Any]:
    return {"season": t.Season.parse(settings.season_start, settings.season_end)}


REFINED = (
    RefinedTable(
        TableRef("refined", "digital_twin.enclosures"),
        (PARCELS, TREATMENTS, ACTIVITIES, WEATHER, NDVI),
        t.digital_twin_enclosures, t.ENCLOSURES_KEY, t.ENCLOSURES_PARTITION, (PARCELS,),
        _season,
    ),
    RefinedTable(
        TableRef("refined", "digital_twin.treatments"), (TREATMENTS,),
        t.digital_twin_treatments, t.TREATMENTS_KEY, t.TREATMENTS_PARTITION, (TREATMENTS,),
    ),
    RefinedTable(
        TableRef("refined", "digital_twin.activities"), (ACTIVITIES,),
        t.digital_twin_activities, t.ACTIVITIES_KEY, t.ACTIVITIES_PARTITION, (ACTIVITIES,),
    ),
    RefinedTable(
        TableRef("refined", "ml.wine_quality"), (WINE,), t.ml_wine_quality, required=(WINE,)
    ),
)  # fmt: skip


@dataclass
class RefinedSummary:
    writes: list[TableWrite] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        built = ", ".join(f"{w.table} v{w.version} ({w.rows} rows)" for w in self.writes)
        return f"refined: {built or 'up to date'} ({self.seconds:.1f} s)"


def refined_refs() -> list[TableRef]:
    return [r.ref for r in REFINED]


def process_refined(lake: Lake, *, force: bool = False) -> RefinedSummary:
    """Rebuild each refined table whose inputs have new versions (all with ``force``)."""
    started = time.perf_counter()
    summary = RefinedSummary()
    for table in REFINED:
        versions = {ref: lake.tables.version(ref) for ref in table.inputs}
        if any(versions[ref] is None for ref in table.required):
            continue
        read = {ref.sql_name: v for ref, v in versions.items() if v is not None}
        latest = lake.catalog.lineage.latest(table.ref.sql_name)
        if not force and latest is not None and latest.inputs == read:
            continue
        summary.writes.append(build(lake, table, versions))
    summary.seconds = time.perf_counter() - started
    return summary


def build(lake: Lake, table: RefinedTable, versions: dict[TableRef, int | None]) -> TableWrite:
    """Build one refined table from the given input versions and record its lineage."""
    frames = [_input(lake, ref, versions[ref]) for ref in table.inputs]
    result = table.build(*frames, **table.options(lake.settings)).collect()
    data = result.to_arrow()
    if table.key:
        version = lake.tables.merge(
            table.ref, data, table.key, table.partition_by, delete_missing=True
        )
    else:
        version = lake.tables.overwrite(table.ref, data, table.partition_by)
    inputs = {ref.sql_name: v for ref, v in versions.items() if v is not None}
    lake.catalog.lineage.record(
        table.ref.sql_name, version, "merge" if table.key else "overwrite",
        rows=result.height, inputs=inputs,
    )  # fmt: skip
    return TableWrite(table.ref.sql_name, version, result.height)


def _input(lake: Lake, ref: TableRef, version: int | None) -> pl.LazyFrame:
    data = lake.tables.read(ref, version) if version is not None else None
    if data is not None:
        return pl.from_arrow(data).lazy()  # type: ignore[union-attr]
    return empty_trusted(ref)


def empty_trusted(ref: TableRef) -> pl.LazyFrame:
    """A trusted table with no rows yet (a missing input), as its cleaning would make it."""
    contract, table = next((c, tt) for c in all_contracts() for tt in c.trusted if tt.id == ref.id)
    wanted = next((t for t in contract.tables if t.sheet == table.sheet), contract.tables[0])
    raw = pl.DataFrame(schema={c: pl.String for c in (*wanted.required, *wanted.optional)})
    raw = raw.with_columns(pl.lit(None, dtype=pl.Int64).alias("_row"))
    cleaned = valid_rows(table.clean(raw.lazy(), CleanOptions()))
    return cleaned.with_columns(pl.lit(None, dtype=dtype).alias(n) for n, dtype in META.items())
