"""Many small raw ingests of one dataset cleaned together: one scan, one cleaning.

Cleaning a small file costs far more than its rows: building the cleaning's plan,
pandera's schema check, a Parquet spool, a collect (about 40 ms whatever the size).
Ingests whose files have the same columns are concatenated (each keeps its ``_row``
and its provenance columns, which every cleaning passes through untouched), cleaned
once, and split back into one :class:`Cleaned` per ingest, equal to what
:func:`clean_ingest` gives for each alone: cleanings are row-wise, and what is not
(the last row of a key within a file wins) is done per ingest here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from agrolake.datasets.cleaning import by_value_of, cleaning_of
from agrolake.datasets.model import Dataset, Table
from agrolake.datasets.raw_contract import new_columns
from agrolake.datasets.trusted_schema import trusted_schema
from agrolake.lake import Lake
from agrolake.lake.catalog import Ingest
from agrolake.lake.spool import spool as spool_folder
from agrolake.lake.tables import TableRef
from agrolake.transforms.by_value import ByValue, split_by_value
from agrolake.transforms.row_errors import ROW, quarantined_rows, valid_rows
from agrolake.zones.trusted_cleaning import (
    META,
    Cleaned,
    clean_ingest,
    clean_options,
    read_coded,
)


def clean_together(
    lake: Lake, dataset: Dataset, table: Table, raw: Sequence[tuple[Ingest, pl.LazyFrame]]
) -> dict[str, Cleaned]:
    """Each ingest's raw table cleaned, ingest id → :class:`Cleaned`; files with the same
    columns in one cleaning, a file like no other on its own."""
    groups: dict[tuple[str, ...], list[tuple[Ingest, pl.LazyFrame]]] = {}
    for ingest, frame in raw:
        groups.setdefault(tuple(frame.collect_schema().names()), []).append((ingest, frame))
    found: dict[str, Cleaned] = {}
    for group in groups.values():
        if len(group) == 1:
            [(ingest, frame)] = group
            found[ingest.ingest_id] = clean_ingest(lake, dataset, table, ingest, frame)
        elif by_value_of(table) is not None:
            found |= _by_value_together(lake, dataset, table, group)
        else:
            found |= _rows_together(lake, dataset, table, group)
    return found


def _rows_together(
    lake: Lake, dataset: Dataset, table: Table, group: list[tuple[Ingest, pl.LazyFrame]]
) -> dict[str, Cleaned]:
    """The row-wise cleaning once for the group (``clean_ingest``'s steps, per ingest where
    a step is not row-wise)."""
    ref = TableRef("trusted", table.table_name)
    # The files' text read at once, in memory (a batch's worth of small files): a lazy
    # concatenation of a thousand scans, each numbered and given its provenance, plans
    # for seconds. Then each row is numbered in its file and given its ingest's columns.
    # (collect_all on a thousand scans starts a blocking thread per file: polars warns.)
    starts, _ = _starts(group)
    collected = pl.concat([frame for _, frame in group], how="vertical").collect()
    numbered = collected.with_row_index(ROW)
    numbered = numbered.with_columns(pl.col(ROW).cast(pl.Int64))
    raw = _provenance(numbered, group, dataset, starts).lazy()
    cleaned = cleaning_of(table)(raw, clean_options(lake))
    trusted_schema(table).validate(cleaned.drop("_errors", ROW, *META))  # types only
    with spool_folder("clean") as folder:
        spool = Path(folder) / "cleaned.parquet"
        cleaned.sink_parquet(spool, engine="streaming")
        checked = pl.scan_parquet(spool)
        valid = valid_rows(checked)
        if table.key:
            # The last row of a key within each file; across files, write_ingests decides.
            valid = valid.unique(subset=[*table.key, "_ingest_id"], keep="last")
        valid = valid.sort("_ingest_id", ROW)
        names = raw.collect_schema().names()
        extra = new_columns(names, table, valid.collect_schema().names())
        if extra:
            new = raw.select(
                "_ingest_id", ROW, *(pl.col(c).str.strip_chars().alias(n) for c, n in extra.items())
            )
            valid = valid.join(new, on=["_ingest_id", ROW], how="left", maintain_order="left")
        frame = _meta_last(valid.collect(engine="streaming"))
        quarantined = quarantined_rows(checked, ref.sql_name).collect(engine="streaming")
        rows_in = checked.group_by("_ingest_id").len().collect()
    return _split(group, frame, quarantined, dict(rows_in.iter_rows()), tuple(extra.values()))


def _by_value_together(
    lake: Lake, dataset: Dataset, table: Table, group: list[tuple[Ingest, pl.LazyFrame]]
) -> dict[str, Cleaned]:
    """The by-value cleaning once for the group: the files' rows one after the other, each
    row's file found again from its position."""
    by_value = by_value_of(table)
    assert isinstance(by_value, ByValue)
    ref = TableRef("trusted", table.table_name)
    options = clean_options(lake)
    starts, lengths = _starts(group)
    raw = pl.concat([frame for _, frame in group], how="vertical")
    coded = read_coded(table, by_value, raw, options)
    cleaning = cleaning_of(table)
    split = split_by_value(coded.sources, lambda lf: cleaning(lf, options), by_value)
    trusted_schema(table).validate(split.valid.lazy().drop(ROW))  # types only
    at = split.valid[ROW]
    valid = split.valid.with_columns(
        coded.extra[c].gather(at).cast(pl.String).str.strip_chars().alias(n)
        for c, n in coded.extra_names.items()
    )
    valid = _provenance(valid, group, dataset, starts)
    if table.key:
        valid = valid.unique(subset=[*table.key, "_ingest_id"], keep="last")
    valid = _meta_last(valid.sort("_ingest_id", ROW))
    failed = _provenance(split.failed, group, dataset, starts)
    quarantined = quarantined_rows(failed.lazy(), ref.sql_name).collect()
    rows_in = {i.ingest_id: n for (i, _), n in zip(group, lengths, strict=True)}
    return _split(group, valid, quarantined, rows_in, tuple(coded.extra_names.values()))


def _starts(group: list[tuple[Ingest, pl.LazyFrame]]) -> tuple[pl.Series, pl.Series]:
    """Where each file's rows start in the group's rows, one after the other; their counts."""
    lengths = pl.concat([frame.select(pl.len()) for _, frame in group]).collect().to_series()
    starts = pl.concat([pl.Series([0], dtype=pl.Int64), lengths.cum_sum().cast(pl.Int64)])
    return starts[:-1], lengths


def _provenance(
    frame: pl.DataFrame,
    group: list[tuple[Ingest, pl.LazyFrame]],
    dataset: Dataset,
    starts: pl.Series,
) -> pl.DataFrame:
    """Rows numbered across the group's files (``_row``) back to their file: the row's
    position in it and the file's provenance columns."""
    part = (starts.search_sorted(frame[ROW], side="right") - 1).cast(pl.Int64)
    ids = pl.Series([i.ingest_id for i, _ in group], dtype=pl.String)
    times = pl.Series([i.created_at for i, _ in group], dtype=pl.Datetime("us", "UTC"))
    return frame.with_columns(
        (frame[ROW] - starts.gather(part)).alias(ROW),
        ids.gather(part).alias("_ingest_id"),
        times.gather(part).alias("_ingested_at"),
        pl.lit(dataset.source, dtype=pl.String).alias("_source"),
    )


def _meta_last(frame: pl.DataFrame) -> pl.DataFrame:
    """The provenance columns at the end, where ``clean_ingest`` puts them."""
    return frame.select(*(c for c in frame.columns if c not in META), *META)


def _split(
    group: list[tuple[Ingest, pl.LazyFrame]],
    valid: pl.DataFrame,
    quarantined: pl.DataFrame,
    rows_in: dict[str, int],
    extra: tuple[str, ...],
) -> dict[str, Cleaned]:
    """One :class:`Cleaned` per ingest of the group (empty frames for an ingest with none)."""
    valid_parts = valid.partition_by("_ingest_id", as_dict=True, maintain_order=True)
    failed_parts = quarantined.partition_by("_ingest_id", as_dict=True, maintain_order=True)
    found = {}
    for ingest, _ in group:
        key = (ingest.ingest_id,)
        found[ingest.ingest_id] = Cleaned(
            valid_parts.get(key, valid.clear()),
            failed_parts.get(key, quarantined.clear()),
            rows_in.get(ingest.ingest_id, 0),
            extra,
        )
    return found
