"""What the lake holds now: the numbers behind ``agrolake status`` and ``invalid``."""

from __future__ import annotations

from typing import Any

import polars as pl

from agrolake.lake import Lake
from agrolake.lake.catalog import CLAIMED, DUPLICATE, INVALID, RAW, TRUSTED
from agrolake.pipeline import all_tables
from agrolake.zones.landing import pending
from agrolake.zones.trusted import QUARANTINE

IN_RAW = (RAW, TRUSTED)  # ingests whose bytes are in raw, whatever zone their rows reached


def status(lake: Lake) -> dict[str, Any]:
    """Counts per zone; the shape is documented in docs/cli.md."""
    counts = lake.catalog.count_by_status()
    return {
        "landing": {
            "pending": sum(1 for _ in pending(lake)),
            "in_progress": counts.get(CLAIMED, 0),
            "invalid": counts.get(INVALID, 0),
        },
        "raw": {
            "objects": sum(counts.get(s, 0) for s in IN_RAW),
            "by_dataset": raw_by_dataset(lake),
        },
        "duplicates": counts.get(DUPLICATE, 0),
        **tables(lake),
    }


def tables(lake: Lake) -> dict[str, dict[str, dict[str, int]]]:
    """``{"trusted": {table: {"version", "rows", "quarantined"}}, "refined": {...}}``."""
    quarantined = _quarantined_by_table(lake)
    found: dict[str, dict[str, dict[str, int]]] = {"trusted": {}, "refined": {}}
    for ref in all_tables():
        if ref == QUARANTINE:
            continue
        version = lake.tables.version(ref)
        if version is not None:
            found[ref.zone][ref.sql_name] = {
                "version": version,
                "rows": lake.tables.rows(ref),
                "quarantined": quarantined.get(ref.sql_name, 0),
            }
    return found


def _quarantined_by_table(lake: Lake) -> dict[str, int]:
    dataset = lake.tables.dataset(QUARANTINE)
    if dataset is None:
        return {}
    counts = (
        pl.scan_pyarrow_dataset(dataset)
        .group_by("table")
        .agg(pl.struct("_ingest_id", "row_index").n_unique().alias("rows"))
        .collect()
    )
    return {row["table"]: row["rows"] for row in counts.to_dicts()}


def raw_by_dataset(lake: Lake) -> dict[str, int]:
    return dict(sorted(lake.catalog.count_by_dataset(IN_RAW).items()))


def invalid_files(lake: Lake) -> list[dict[str, Any]]:
    """Rejected files still in ``landing-zone/invalid/``, oldest first."""
    return [
        {
            "key": row["invalid_key"],
            "original_name": row["original_name"],
            "ingest_id": row["ingest_id"],
            "rejected_at": row["updated_at"].isoformat(),
            "reason": row["reason"],
            "details": row["details"],
        }
        for row in lake.catalog.find(status=INVALID)
    ]
