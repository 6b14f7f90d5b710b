"""The trusted schema a declaration implies, as a pandera schema (polars backend).

It checks what a cleaned frame's schema can say: every field with its type and
nullability, nothing else (personal fields, ``_errors`` and the lineage columns
may be absent). Value checks are not pandera checks: pandera runs those only
when it collects a frame, and then rejects the frame; they run in the cleaning
as row errors instead (``cleaning.field_errors``), so a failing row is
quarantined with the check, column and value, and the other rows go on.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from agrolake.datasets.model import Table
from agrolake.transforms.row_errors import ERRORS, ERRORS_DTYPE, LINEAGE

if TYPE_CHECKING:
    import pandera.polars as pa


@cache
def trusted_schema(table: Table) -> pa.DataFrameSchema:
    import pandera.polars as pa

    columns: dict[str, pa.Column] = {
        f.name: pa.Column(f.dtype, nullable=not f.required, required=not f.personal)
        for f in table.fields
    }
    columns[ERRORS] = pa.Column(ERRORS_DTYPE, required=False)
    columns |= {c: pa.Column(required=False) for c in LINEAGE}
    return pa.DataFrameSchema(columns, strict=True, name=table.name)
