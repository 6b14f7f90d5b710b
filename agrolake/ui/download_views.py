"""What the download links return: a page of a table at a version, and the
quarantined rows of the current filters (the quarantine page's)."""

from __future__ import annotations

import re

import pyarrow as pa
from starlette.requests import Request

from agrolake.answers.quarantined import quarantine_rows
from agrolake.answers.table_details import preview as table_preview
from agrolake.lake import Lake
from agrolake.ui.views import page_of_table, quarantine_filters


def preview(lake: Lake, request: Request) -> pa.Table:
    return table_preview(lake, *page_of_table(request))


def preview_name(request: Request) -> str:
    """``trusted.erp_parcels-v3-p1``: the table, version and page, file-name safe."""
    version = request.query_params.get("version") or "latest"
    page = request.query_params.get("page") or "1"
    stem = f"{request.path_params['name']}-v{version}-p{page}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem)[:120]


def quarantine(lake: Lake, request: Request) -> pa.Table:
    return quarantine_rows(lake, *quarantine_filters(lake, request))
