"""The catalog of agrolake: claims, statuses, reasons and (later) lineage."""

from agrolake.lake.catalog.ingests import (
    CLAIMED,
    DUPLICATE,
    FAILED,
    INVALID,
    RAW,
    REPLAYED,
    TRUSTED,
    Catalog,
    Claim,
    new_ingest_id,
    utcnow,
)
from agrolake.lake.catalog.lineage import Lineage, TableVersion
from agrolake.lake.catalog.records import (
    FINISHED,
    DuplicateRecord,
    Ingest,
    InvalidRecord,
    RawRecord,
    ReadOptions,
    Status,
)

__all__ = [
    "CLAIMED",
    "DUPLICATE",
    "FAILED",
    "FINISHED",
    "INVALID",
    "RAW",
    "REPLAYED",
    "TRUSTED",
    "Catalog",
    "Claim",
    "DuplicateRecord",
    "Ingest",
    "InvalidRecord",
    "Lineage",
    "RawRecord",
    "ReadOptions",
    "Status",
    "TableVersion",
    "new_ingest_id",
    "utcnow",
]
