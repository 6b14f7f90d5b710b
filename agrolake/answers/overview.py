"""The lake at a glance: ``agrolake status`` plus when each table was last written
and the latest ingests with their outcome (the lake browser's first page)."""

from __future__ import annotations

from typing import Any

from agrolake.answers.reports import status
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
    lineage = lake.catalog.lineage
    last_writes = {}
    for zone in ("trusted", "refined"):
        for name in found[zone]:
            recorded = lineage.latest(name)
            if recorded is not None:
                last_writes[name] = {
                    "version": recorded.version,
                    "operation": recorded.operation,
                    "at": recorded.created_at.isoformat() if recorded.created_at else None,
                }
    ingests = lake.catalog.find()
    newest = sorted(ingests, key=lambda i: (i.created_at, i.ingest_id), reverse=True)[:latest]
    return {
        "status": found,
        "last_writes": last_writes,
        "latest_ingests": [ingest_outcome(i) for i in newest],
    }
