"""The catalog of agrolake: claims, statuses, reasons and (later) lineage."""

from agrolake.lake.catalog.ingests import (
    CLAIMED,
    DUPLICATE,
    FINISHED,
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

__all__ = [
    "CLAIMED",
    "DUPLICATE",
    "FINISHED",
    "INVALID",
    "RAW",
    "REPLAYED",
    "TRUSTED",
    "Catalog",
    "Claim",
    "Lineage",
    "TableVersion",
    "new_ingest_id",
    "utcnow",
]
