"""What the lake holds now: the numbers behind ``agrolake status`` and ``invalid``."""

from __future__ import annotations

from typing import Any

from agrolake.catalog import CLAIMED, DUPLICATE, INVALID, RAW
from agrolake.lake import Lake
from agrolake.landing import pending


def status(lake: Lake) -> dict[str, Any]:
    """Counts per zone; the shape is documented in docs/cli.md."""
    counts = lake.catalog.count_by_status()
    return {
        "landing": {
            "pending": sum(1 for _ in pending(lake)),
            "in_progress": counts.get(CLAIMED, 0),
            "invalid": counts.get(INVALID, 0),
        },
        "raw": {"objects": counts.get(RAW, 0), "by_dataset": raw_by_dataset(lake)},
        "duplicates": counts.get(DUPLICATE, 0),
    }


def raw_by_dataset(lake: Lake) -> dict[str, int]:
    by_dataset: dict[str, int] = {}
    for row in lake.catalog.find(status=RAW):
        by_dataset[row["dataset"]] = by_dataset.get(row["dataset"], 0) + 1
    return dict(sorted(by_dataset.items()))


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
