"""The lake at a glance: ``agrolake status`` plus when each table was last written
and the latest ingests with their outcome (the lake browser's first page)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agrolake.answers.inventory import queryable_tables
from agrolake.answers.reports import status
from agrolake.datasets.registry import load_registry
from agrolake.lake import Lake
from agrolake.lake.catalog import Ingest

LATEST_INGESTS = 15


def ingest_outcome(ingest: Ingest) -> dict[str, Any]:
    """An ingest as lists show it: its file, dataset, status and why."""
    return {
        "ingest_id": ingest.ingest_id,
        "original_name": ingest.original_name,
        "landing_key": ingest.landing_key,
        "dataset": ingest.dataset,
        "status": str(ingest.status),
        "reason": ingest.reason,
        "size": ingest.size,
        "created_at": ingest.created_at.isoformat(),
        "updated_at": ingest.updated_at.isoformat(),
    }


def overview(lake: Lake, latest: int = LATEST_INGESTS) -> dict[str, Any]:
    """``status`` (the CLI's shape), each table's last write, the latest ingests."""
    found = status(lake)
    last_writes = {}
    for ref in queryable_tables(lake, load_registry(lake.settings)):
        table = lake.tables.open(ref) if ref.sql_name in found.get(ref.zone, {}) else None
        # The table's last commit, from its log: one small read, however long its history.
        commits = table.history(1) if table is not None else []
        if commits:
            at = datetime.fromtimestamp(int(commits[0].get("timestamp", 0)) / 1000, UTC)
            last_writes[ref.sql_name] = {
                "version": int(commits[0]["version"]),
                "operation": str(commits[0].get("operation", "")).lower(),
                "at": at.isoformat(),
            }
    return {
        "status": found,
        "last_writes": last_writes,
        "latest_ingests": [ingest_outcome(i) for i in lake.catalog.newest(latest)],
    }
