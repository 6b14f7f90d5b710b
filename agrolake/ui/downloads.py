"""Downloads of a table preview and of the quarantine list: CSV that a spreadsheet
cannot take for formulas, and Parquet with the table's own types."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from agrolake.answers.spreadsheet_cells import safe_cell


def csv_text(value: Any) -> str:
    """A value as machine-readable text: ISO dates, JSON lists, plain numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def as_csv(table: pa.Table) -> bytes:
    """UTF-8 CSV with a BOM (Excel then reads accents right), a header, one line a row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in table.column_names])
    for row in table.to_pylist():
        writer.writerow([safe_cell(csv_text(value)) for value in row.values()])
    return ("\ufeff" + out.getvalue()).encode()


def as_parquet(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()
