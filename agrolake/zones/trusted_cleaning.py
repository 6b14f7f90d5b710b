"""Cleaning one raw ingest for one trusted table: typed, checked, split into the rows
that pass and the rows quarantined with their failed checks. Nothing is written here."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from agrolake.datasets.cleaning import by_value_of, cleaning_of
from agrolake.datasets.locations import load_locations, station_locations
from agrolake.datasets.model import CleanOptions, Dataset, Table
from agrolake.datasets.raw_contract import new_columns
from agrolake.datasets.trusted_schema import trusted_schema
from agrolake.lake import Lake
from agrolake.lake.catalog import Ingest
from agrolake.lake.naming import match_sources
from agrolake.lake.spool import spool as spool_folder
from agrolake.lake.tables import TableRef
from agrolake.transforms.by_value import ByValue, split_by_value
from agrolake.transforms.row_errors import ERRORS, ROW, quarantined_rows, valid_rows


@dataclass(frozen=True)
class Cleaned:
    """One ingest's rows for one trusted table: those that passed, those quarantined,
    how many rows were read and which new columns rode along."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    rows_in: int = 0
    new_columns: tuple[str, ...] = ()

    @property
    def rows_quarantined(self) -> int:
        return self.quarantined["row_index"].n_unique() if self.quarantined.height else 0

    def quality(self, fields: list[str]) -> dict[str, Any]:
        """The ingest's quality report for this table (recorded on the ingest): rows read,
        written and quarantined, failed checks by check and by column, the share of
        nulls in each declared column of the rows written, and the new columns seen."""
        failed = self.quarantined
        by = {
            name: dict(sorted(Counter(failed[name].to_list()).items())) if failed.height else {}
            for name in ("check", "column")
        }
        columns = set(self.valid.columns) if self.valid.height else set()
        present = [f for f in fields if f in columns]
        # A Series knows its null count: no query plan per ingest (a select was 0.15 ms).
        nulls = [self.valid.get_column(f).null_count() for f in present]
        return {
            "rows_in": self.rows_in,
            "rows_written": self.valid.height,
            "rows_quarantined": self.rows_quarantined,
            "by_check": by["check"],
            "by_column": by["column"],
            "null_rate": {
                f: round(n / self.valid.height, 4) for f, n in zip(present, nulls, strict=True)
            },
            "new_columns": list(self.new_columns),
        }


#: The provenance columns of every trusted row (``_row`` aside).
META = ("_ingest_id", "_ingested_at", "_source")


def meta_columns(ingest: Ingest, dataset: Dataset) -> list[pl.Expr]:
    """The ingest's provenance columns, as literals."""
    return [
        pl.lit(ingest.ingest_id, dtype=pl.String).alias("_ingest_id"),
        pl.lit(ingest.created_at, dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(dataset.source, dtype=pl.String).alias("_source"),
    ]


def clean_options(lake: Lake) -> CleanOptions:
    return CleanOptions(
        include_personal_data=lake.settings.include_personal_data,
        stations=station_locations(load_locations(lake.settings)),
    )


def clean_ingest(
    lake: Lake,
    dataset: Dataset,
    table: Table,
    ingest: Ingest,
    raw: pl.LazyFrame,
) -> Cleaned:
    """Clean, type and check one raw table of an ingest; nothing is written."""
    ref = TableRef("trusted", table.table_name)
    meta = meta_columns(ingest, dataset)
    options = clean_options(lake)
    by_value = by_value_of(table)
    if by_value is not None:
        return _clean_by_value(table, by_value, raw, options, meta)
    raw = raw.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    cleaned = cleaning_of(table)(raw, options)
    # Types only: pandera checks a LazyFrame's schema; the value checks ran as row errors.
    trusted_schema(table).validate(cleaned.drop("_errors", "_row"))
    with spool_folder("clean") as folder:
        # Cleaning is the expensive part: it runs once, streamed to a Parquet spool,
        # and both outputs read the spool (measured: a third of the CPU and of the
        # peak memory of collecting the two outputs from the raw plan).
        spool = Path(folder) / "cleaned.parquet"
        cleaned.sink_parquet(spool, engine="streaming")
        checked = pl.scan_parquet(spool)
        valid = valid_rows(checked)
        if table.key:
            # One row per key within the file: the last, as a later line corrects an
            # earlier; deduplicated in the streaming engine, file order restored after.
            valid = valid.unique(subset=list(table.key), keep="last").sort("_row")
        extra = new_columns(raw.collect_schema().names(), table, valid.collect_schema().names())
        valid = _with_new_columns(valid, raw, extra).with_columns(meta)
        frame = valid.collect(engine="streaming")
        failed = quarantined_rows(checked, ref.sql_name).with_columns(meta)
        quarantined = failed.collect(engine="streaming")
        rows_in = checked.select(pl.len()).collect().item()
    return Cleaned(frame, quarantined, rows_in, tuple(extra.values()))


def _clean_by_value(
    table: Table,
    by_value: ByValue,
    raw: pl.LazyFrame,
    options: CleanOptions,
    meta: list[pl.Expr],
) -> Cleaned:
    """``clean_ingest`` for a cleaning separable by column: once per distinct value."""
    ref = TableRef("trusted", table.table_name)
    coded = read_coded(table, by_value, raw, options)
    cleaning = cleaning_of(table)
    split = split_by_value(coded.sources, lambda lf: cleaning(lf, options), by_value, table.key)
    trusted_schema(table).validate(split.valid.lazy().drop(ROW))  # types only, as above
    at = split.valid[ROW]
    valid = split.valid.with_columns(
        coded.extra[c].gather(at).cast(pl.String).str.strip_chars().alias(n)
        for c, n in coded.extra_names.items()
    ).with_columns(meta)
    failed = quarantined_rows(split.failed.lazy(), ref.sql_name).with_columns(meta)
    return Cleaned(valid, failed.collect(), coded.sources.height, tuple(coded.extra_names.values()))


@dataclass(frozen=True)
class Coded:
    """The raw columns a by-value cleaning needs, each a Categorical of its own."""

    sources: pl.DataFrame  # the columns the cleaning reads
    extra: pl.DataFrame  # new columns that ride along as text (schema evolution)
    extra_names: dict[str, str]  # their table column names


def read_coded(table: Table, by_value: ByValue, raw: pl.LazyFrame, options: CleanOptions) -> Coded:
    """Read the columns once: 4 bytes a cell whatever the text, codes indexing distinct values."""
    names = raw.collect_schema().names()
    used = [c for c in match_sources(names, by_value.outputs).values() if c is not None]
    numbered = raw.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    cleaned = cleaning_of(table)(numbered, options)
    present = [c for c in cleaned.collect_schema().names() if c != ERRORS]
    extra = new_columns(names, table, present)
    read = list(dict.fromkeys([*used, *extra]))
    coded = raw.select(pl.col(c).cast(pl.Categorical(pl.Categories.random())) for c in read)
    rows = coded.collect(engine="streaming")
    return Coded(rows.select(used), rows.select(list(extra)), extra)


def _with_new_columns(
    valid: pl.LazyFrame, raw: pl.LazyFrame, extra: dict[str, str]
) -> pl.LazyFrame:
    """Schema evolution: raw columns no field declares ride along as nullable text."""
    if not extra:
        return valid
    new = raw.select("_row", *(pl.col(c).str.strip_chars().alias(n) for c, n in extra.items()))
    # Order kept: the streaming engine's join would otherwise lose the file order.
    return valid.join(new, on="_row", how="left", maintain_order="left")
