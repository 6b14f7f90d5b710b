"""One table in detail: its schema, version history, a page of rows at any version,
and its quarantined rows grouped by check (the lake browser's table page)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads

from agrolake.answers.inventory import queryable_tables
from agrolake.answers.quarantined import by_check
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import QUARANTINE, TableRef, parse_table

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def known_table(lake: Lake, name: str) -> TableRef:
    """The table a visitor named, among those SQL can name; UsageError otherwise."""
    return parse_table(name, queryable_tables(lake, load_registry(lake.settings)))


def table_details(
    lake: Lake, name: str, version: int | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """Schema, history, one page of rows (at ``version``, default the latest) and the
    quarantined rows by check; shape in docs/ui.md."""
    ref = known_table(lake, name)
    _check_page(page, page_size)
    latest = lake.tables.open(ref)
    if latest is None:
        raise UsageError(f"{ref.sql_name} has not been written yet")
    shown = latest if version is None else lake.tables.open(ref, version)
    assert shown is not None  # it exists: the latest was opened
    schema = pa.schema(shown.schema().to_arrow())
    dataset = lake.tables.dataset(ref, version)
    assert dataset is not None
    total = dataset.count_rows()
    rows = page_of(dataset, schema, (page - 1) * page_size, page_size)
    return {
        "table": ref.sql_name,
        "zone": ref.zone,
        "id": ref.id,
        "version": shown.version(),
        "latest_version": latest.version(),
        "partition_by": list(shown.metadata().partition_columns),
        "schema": [{"name": f.name, "type": str(f.type)} for f in schema],
        "history": history(lake, ref, latest.history()),
        "preview": {
            "page": page,
            "page_size": page_size,
            "total_rows": total,
            "pages": max(1, -(-total // page_size)),
            "columns": schema.names,
            "rows": [list(r.values()) for r in rows.to_pylist()],
        },
        "quarantine": [] if ref == QUARANTINE else by_check(lake, ref.sql_name),
    }


def page_of(dataset: pads.Dataset, schema: pa.Schema, offset: int, limit: int) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` in file order, read batch by batch: memory
    stays one batch whatever the table's size."""
    parts: list[pa.RecordBatch] = []
    for batch in dataset.to_batches(batch_size=max(limit, 1024)):
        if offset >= batch.num_rows:
            offset -= batch.num_rows
            continue
        part = batch.slice(offset, limit)
        offset = 0
        parts.append(part)
        limit -= part.num_rows
        if limit <= 0:
            break
    return pa.Table.from_batches(parts, schema=dataset.schema).select(schema.names)


def preview(
    lake: Lake, name: str, version: int | None = None, page: int = 1, page_size: int = PAGE_SIZE
) -> pa.Table:
    """One page of a table's rows at a version (the browser's downloads)."""
    ref = known_table(lake, name)
    _check_page(page, page_size)
    table = lake.tables.open(ref, version)
    if table is None:
        raise UsageError(f"{ref.sql_name} has not been written yet")
    schema = pa.schema(table.schema().to_arrow())
    dataset = lake.tables.dataset(ref, version)
    assert dataset is not None
    return page_of(dataset, schema, (page - 1) * page_size, page_size)


def _check_page(page: int, page_size: int) -> None:
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise UsageError(f"pages start at 1 and hold 1 to {MAX_PAGE_SIZE} rows")


def history(lake: Lake, ref: TableRef, commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every Delta commit, newest first, with what agrolake recorded about it: rows,
    quarantined rows, the ingests it added (with their file names), the inputs it read."""
    recorded = {v.version: v for v in lake.catalog.lineage.versions(ref.sql_name)}
    names = lake.catalog.original_names(i for v in recorded.values() for i in v.added)
    found = []
    for commit in sorted(commits, key=lambda c: int(c["version"]), reverse=True):
        number = int(commit["version"])
        version = recorded.get(number)
        at = datetime.fromtimestamp(int(commit.get("timestamp", 0)) / 1000, UTC)
        found.append(
            {
                "version": number,
                "operation": version.operation if version else str(commit.get("operation")),
                "at": at.isoformat(),
                "rebuild": bool(version and version.rebuild),
                "rows": version.rows if version else None,
                "quarantined": version.quarantined if version else None,
                "ingests": [
                    {"ingest_id": i, "original_name": names.get(i)}
                    for i in (version.added if version else ())
                ],
                "inputs": [
                    {"table": t, "version": v}
                    for t, v in sorted((version.inputs if version else {}).items())
                ],
            }
        )
    return found
