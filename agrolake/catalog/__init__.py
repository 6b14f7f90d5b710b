"""The catalog of agrolake: claims, statuses, reasons and (later) lineage."""

from agrolake.catalog.catalog import (
    CLAIMED,
    DUPLICATE,
    FINISHED,
    INVALID,
    RAW,
    REPLAYED,
    Catalog,
    Claim,
    new_ingest_id,
    utcnow,
)

__all__ = [
    "CLAIMED",
    "DUPLICATE",
    "FINISHED",
    "INVALID",
    "RAW",
    "REPLAYED",
    "Catalog",
    "Claim",
    "new_ingest_id",
    "utcnow",
]
