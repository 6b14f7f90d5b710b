"""Reads of the catalog's ingests that pages need and ``Catalog.find`` would answer by
loading every ingest (with its details): the newest few, and the file names of some.

Read-only queries on the catalog's ``ingests`` table, in the catalog's error
translation; a lake of thousands of ingests costs the rows asked for, not all."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from agrolake.lake import Lake
from agrolake.lake.catalog import Ingest
from agrolake.lake.catalog.database import translated_errors
from agrolake.lake.catalog.schema import ingests

#: Ids per query: SQLite binds at most 32,766 parameters, PostgreSQL 65,535.
CHUNK = 1000


def newest_ingests(lake: Lake, count: int) -> list[Ingest]:
    """The ``count`` ingests claimed last (ingest ids sort by claim time), newest first."""
    query = select(ingests).order_by(ingests.c.ingest_id.desc()).limit(count)
    with translated_errors(lake.catalog.url, "lookup"), lake.catalog.engine.connect() as conn:
        return [Ingest.from_row(row) for row in conn.execute(query)]


def original_names(lake: Lake, ingest_ids: Iterable[str]) -> dict[str, str]:
    """Ingest id → the file name it was uploaded as (ids the catalog lacks are left out)."""
    wanted = sorted(set(ingest_ids))
    found: dict[str, str] = {}
    with translated_errors(lake.catalog.url, "lookup"), lake.catalog.engine.connect() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = select(ingests.c.ingest_id, ingests.c.original_name).where(
                ingests.c.ingest_id.in_(wanted[start : start + CHUNK])
            )
            found.update({row.ingest_id: row.original_name for row in conn.execute(query)})
    return found
