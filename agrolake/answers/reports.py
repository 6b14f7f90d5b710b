"""What the lake holds now: the numbers behind ``agrolake status`` and ``invalid``."""

from __future__ import annotations

from typing import Any

import polars as pl

from agrolake.answers.inventory import IN_RAW, orphaned_datasets, orphaned_tables
from agrolake.datasets.registry import Registry, load_registry
from agrolake.lake import Lake
from agrolake.lake.catalog import CLAIMED, DUPLICATE, INVALID
from agrolake.lake.listing import list_landing
from agrolake.lake.tables import QUARANTINE


def status(lake: Lake) -> dict[str, Any]:
    """Counts per zone; the shape is documented in docs/cli.md."""
    counts = lake.catalog.count_by_status()
    registry = load_registry(lake.settings)
    listing = list_landing(lake.store)
    return {
        "landing": {
            "pending": len(listing.pending),
            "in_progress": counts.get(CLAIMED, 0),
            "invalid": counts.get(INVALID, 0),
            "unreadable_keys": listing.unreadable,
            "folder_markers": listing.folder_markers,
            "misplaced": listing.misplaced,
        },
        "stages": lake.catalog.stage_counts(),
        "raw": {
            "objects": sum(counts.get(s, 0) for s in IN_RAW),
            "by_dataset": raw_by_dataset(lake),
        },
        "duplicates": counts.get(DUPLICATE, 0),
        **tables(lake, registry),
        "orphaned": {
            "datasets": orphaned_datasets(lake, registry),
            "tables": [r.sql_name for r in orphaned_tables(lake, registry)],
        },
        "declarations": {"problems": [p.line() for p in registry.problems]},
    }


def tables(lake: Lake, registry: Registry) -> dict[str, dict[str, dict[str, Any]]]:
    """``{"trusted": {table: {"version", "rows", "quarantined"}}, "refined": {...}}``;
    an orphaned table also says ``"orphaned": true``, and one whose declaration
    changed since its last write ``"rebuild_due": true`` (both absent otherwise)."""
    quarantined = _quarantined_by_table(lake)
    # A table fed by several datasets (weather.daily) is written with the declaration
    # of whichever wrote last: any of its feeders' current ones is up to date.
    fingerprints = {
        ref.sql_name: {table.fingerprint for _, table in registry.feeds(ref.sql_name)}
        for ref in registry.trusted_refs()
    }
    orphans = orphaned_tables(lake, registry)
    found: dict[str, dict[str, dict[str, Any]]] = {"trusted": {}, "refined": {}}
    for ref in [*registry.table_refs(), *orphans]:
        if ref == QUARANTINE:
            continue
        version = lake.tables.version(ref)
        if version is None:
            continue
        facts: dict[str, Any] = {
            "version": version,
            "rows": lake.tables.rows(ref),
            "quarantined": quarantined.get(ref.sql_name, 0),
        }
        if ref in orphans:
            facts["orphaned"] = True
        latest = lake.catalog.lineage.latest(ref.sql_name)
        written_with = latest.declaration if latest is not None else None
        if written_with and written_with not in fingerprints.get(ref.sql_name, {written_with}):
            facts["rebuild_due"] = True
        found[ref.zone][ref.sql_name] = facts
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
            "key": row.invalid_key,
            "original_name": row.original_name,
            "ingest_id": row.ingest_id,
            "rejected_at": row.updated_at.isoformat(),
            "reason": row.reason,
            "details": row.details,
        }
        for row in lake.catalog.find(status=INVALID)
    ]
