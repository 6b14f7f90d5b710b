"""Quarantined rows: which rows of which table failed which check, in which ingest,
with the raw values (``trusted.quarantine_rows``, one row per failed check)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from agrolake.answers.filters import matching
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import QUARANTINE, QUARANTINE_SCHEMA

EXAMPLES = 3
ROWS_SHOWN = 200


def quarantine_rows(
    lake: Lake, table: str | None = None, check: str | None = None, ingest_id: str | None = None
) -> pa.Table:
    """The quarantine table's rows matching every given filter (pushed down to the scan)."""
    dataset = lake.tables.dataset(QUARANTINE)
    if dataset is None:
        return QUARANTINE_SCHEMA.empty_table()
    rows = matching(dataset, table=table, check=check, _ingest_id=ingest_id)
    return rows.sort_by(
        [("table", "ascending"), ("_ingest_id", "ascending"), ("row_index", "ascending")]
    )


def by_check(lake: Lake, table: str) -> list[dict[str, Any]]:
    """A table's quarantined rows grouped by check and column: rows, failures and a few
    of the failing values."""
    rows = pl.from_arrow(quarantine_rows(lake, table=table))
    assert isinstance(rows, pl.DataFrame)
    if not rows.height:
        return []
    grouped = (
        rows.group_by("check", "column")
        .agg(
            pl.struct("_ingest_id", "row_index").n_unique().alias("rows"),
            pl.len().alias("failures"),
            pl.col("value").unique(maintain_order=True).head(EXAMPLES).alias("examples"),
        )
        .sort("rows", "check", "column", descending=[True, False, False])
    )
    return grouped.to_dicts()


def quarantine_report(
    lake: Lake,
    table: str | None = None,
    check: str | None = None,
    ingest_id: str | None = None,
    limit: int = ROWS_SHOWN,
) -> dict[str, Any]:
    """Quarantined rows by table, check and ingest (with the file each came from), and
    the first ``limit`` failures with their raw values; shape in docs/ui.md."""
    if ingest_id is not None and not lake.catalog.original_names([ingest_id]):
        raise UsageError(f"no ingest {ingest_id!r}")
    rows = pl.from_arrow(quarantine_rows(lake, table, check, ingest_id))
    assert isinstance(rows, pl.DataFrame)
    names = lake.catalog.original_names(
        rows["_ingest_id"].unique().to_list() if rows.height else []
    )
    groups = []
    if rows.height:
        counted = (
            rows.group_by("table", "check", "_ingest_id")
            .agg(
                pl.struct("row_index").n_unique().alias("rows"),
                pl.col("column").unique().sort().alias("columns"),
            )
            .sort("table", "check", "_ingest_id")
        )
        groups = [
            {
                "table": g["table"],
                "check": g["check"],
                "ingest_id": g["_ingest_id"],
                "original_name": names.get(g["_ingest_id"]),
                "rows": g["rows"],
                "columns": g["columns"],
            }
            for g in counted.to_dicts()
        ]
    shown = [
        {
            "table": r["table"],
            "row_index": r["row_index"],
            "column": r["column"],
            "check": r["check"],
            "value": r["value"],
            "row": r["row_json"],
            "ingest_id": r["_ingest_id"],
            "original_name": names.get(r["_ingest_id"]),
        }
        for r in rows.head(limit).to_dicts()
    ]
    return {
        "filters": {"table": table, "check": check, "ingest": ingest_id},
        "failures": rows.height,
        "rows": rows.select(pl.struct("_ingest_id", "table", "row_index").n_unique()).item()
        if rows.height
        else 0,
        "groups": groups,
        "shown": shown,
    }
