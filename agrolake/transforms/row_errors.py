"""The row error protocol of a cleaning, and the split into valid and quarantined rows.

A cleaned frame has the trusted columns, the lineage columns the caller put on
the raw frame (``_row`` above all: its position in the input) and ``_errors``,
the list of problems of the row as ``{column, check, value}`` structs; an empty
list means the row is valid. Checks are named ``type:<kind>``, ``not_null``,
``range:<low>..<high>`` (a bound left empty is open), ``allowed:<a>|<b>``,
``pattern:<regex>``, or a dataset's own (``unit``, ``lookup:locations``).
"""

from __future__ import annotations

import polars as pl

ERRORS = "_errors"
ROW = "_row"
# Bookkeeping columns a caller may put on the raw frame; they pass through untouched.
LINEAGE = (ROW, "_ingest_id", "_ingested_at", "_source")

ERROR_DTYPE = pl.Struct({"column": pl.String, "check": pl.String, "value": pl.String})
ERRORS_DTYPE = pl.List(ERROR_DTYPE)


def error_if(condition: pl.Expr, column: str, check: str, value: pl.Expr) -> pl.Expr:
    """One ``_errors`` entry when ``condition`` holds, else null (dropped later)."""
    entry = pl.struct(column=pl.lit(column), check=pl.lit(check), value=value.cast(pl.String))
    return pl.when(condition).then(entry)


def collect_errors(errors: list[pl.Expr]) -> pl.Expr:
    """The ``_errors`` column from the entries of a row (nulls dropped)."""
    collected = pl.concat_list(errors).list.drop_nulls() if errors else pl.lit([], ERRORS_DTYPE)
    return collected.cast(ERRORS_DTYPE).alias(ERRORS)


def valid_rows(cleaned: pl.LazyFrame) -> pl.LazyFrame:
    """The rows without errors, ``_errors`` dropped (lineage columns such as ``_row`` kept)."""
    return cleaned.filter(pl.col(ERRORS).list.len() == 0).drop(ERRORS)


def quarantined_rows(cleaned: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """One row per (row, error) of the rows with errors.

    Columns: ``table``, ``row_index`` (Int64: the row's ``_row``, the
    position the caller numbered the raw input with, or null without it),
    ``column``, ``check``, ``value`` (the raw text that failed), ``row_json``
    (the *cleaned* row's data columns as JSON; failed values are null there and
    kept raw in ``value``, and personal data only appears if the cleaning
    included it), then any other lineage column of ``cleaned``.
    """
    names = cleaned.collect_schema().names()
    data = [c for c in names if c != ERRORS and c not in LINEAGE]
    lineage = [c for c in LINEAGE if c in names and c != ROW]
    row_index = pl.col(ROW).cast(pl.Int64) if ROW in names else pl.lit(None, pl.Int64)
    return (
        cleaned.filter(pl.col(ERRORS).list.len() > 0)
        .select(
            pl.lit(table).alias("table"),
            row_index.alias("row_index"),
            pl.col(ERRORS),
            pl.struct(data).struct.json_encode().alias("row_json"),
            *lineage,
        )
        .explode(ERRORS)
        .unnest(ERRORS)
        .select("table", "row_index", "column", "check", "value", "row_json", *lineage)
    )
