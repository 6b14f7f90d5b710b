"""What the download links return: a page of a table at a version, and the
quarantined rows of the current filters (the quarantine page's)."""

from __future__ import annotations

import re

import pyarrow as pa
from starlette.requests import Request

from agrolake.answers.quarantined import quarantine_rows
from agrolake.answers.table_details import MAX_PAGE_SIZE, PAGE_SIZE, known_table
from agrolake.answers.table_details import preview as table_preview
from agrolake.lake import Lake
from agrolake.ui import params


def preview(lake: Lake, request: Request) -> pa.Table:
    return table_preview(
        lake,
        params.path_text(request, "name"),
        params.number(request, "version"),
        params.number(request, "page", minimum=1, default=1),
        params.number(request, "page_size", minimum=1, maximum=MAX_PAGE_SIZE, default=PAGE_SIZE),
    )


def preview_name(request: Request) -> str:
    """``trusted.erp_parcels-v3-p1``: the table, version and page, file-name safe."""
    version = request.query_params.get("version") or "latest"
    page = request.query_params.get("page") or "1"
    stem = f"{request.path_params['name']}-v{version}-p{page}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:120]


def quarantine(lake: Lake, request: Request) -> pa.Table:
    name = params.text(request, "table", limit=200)
    ingest = params.text(request, "ingest", limit=40)
    return quarantine_rows(
        lake,
        known_table(lake, name).sql_name if name else None,
        params.text(request, "check", limit=500),
        params.ingest_id(ingest) if ingest else None,
    )
