"""A row-wise cleaning run once per distinct value instead of once per row.

Field exports repeat their values: an activities file of millions of rows holds a
few thousand dates, tasks, parcels and enclosure ids. When a cleaning is
*separable by column*, that is every output column and every error is a function
of one raw column's value (a ``ByValue`` declares which column feeds which
outputs), cleaning a file comes down to cleaning each column's distinct values
and looking the results up per row.

``split_by_value`` does that on a frame of Categorical columns, whose physical
codes index their distinct values: the cleaning itself runs on a frame of those
distinct values, the rows only gather from it. Rows that fail a check go through
the row-wise cleaning as they are, for the quarantine, so their errors are the
row-wise cleaning's own. ``split_rows`` is the row-wise reference both must
equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from agrolake.transforms.common import (
    DEFAULT_OPTIONS,
    ERRORS,
    LINEAGE,
    ROW,
    CleanOptions,
    match_sources,
    valid_rows,
)

Cleaning = Callable[[pl.LazyFrame, CleanOptions], pl.LazyFrame]


@dataclass(frozen=True)
class ByValue:
    """Which output columns of a cleaning each source column alone decides.

    Keys are source columns as the contract spells them; values, the output
    columns (and so the ``column`` of their errors) computed from that source's
    value and nothing else. Every output column of the cleaning must be listed.
    """

    outputs: Mapping[str, tuple[str, ...]]

    def source_of(self, column: str) -> str:
        for source, outputs in self.outputs.items():
            if column in outputs:
                return source
        raise ValueError(f"column {column!r} is not declared in the cleaning's ByValue")


@dataclass(frozen=True)
class Split:
    """A cleaned file as trusted needs it.

    ``valid``: the valid rows without ``_errors``, deduplicated on the key (the
    last row of a key wins) and in file order, ``_row`` their position in the
    input. ``failed``: the cleaned rows that have errors, with ``_errors`` and
    ``_row`` (what ``quarantined_rows`` takes).
    """

    valid: pl.DataFrame
    failed: pl.DataFrame


def split_rows(
    raw: pl.DataFrame,
    clean: Cleaning,
    options: CleanOptions = DEFAULT_OPTIONS,
    key: Sequence[str] = (),
) -> Split:
    """The reference: ``clean`` on every row, valid rows deduplicated on ``key``."""
    numbered = raw.lazy().with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    cleaned = clean(numbered, options).collect()
    valid = valid_rows(cleaned.lazy())
    if key:
        valid = valid.unique(subset=list(key), keep="last", maintain_order=True)
    return Split(valid.collect(), cleaned.filter(pl.col(ERRORS).list.len() > 0))


@dataclass(frozen=True)
class _Coded:
    """One raw column as indices into its distinct values (the last one null)."""

    values: pl.Series
    codes: pl.Series


def _coded(column: pl.Series) -> _Coded:
    dtype = column.dtype
    if not isinstance(dtype, pl.Categorical) or dtype.categories.is_global():
        # Own categories, so the distinct values are this column's and no other's.
        column = column.cast(pl.String).cast(pl.Categorical(pl.Categories.random()))
        dtype = column.dtype
    assert isinstance(dtype, pl.Categorical)
    values = dtype.categories.to_series()
    values = pl.concat([values, pl.Series([None], dtype=pl.String)])
    codes = column.cat.physical().fill_null(len(values) - 1)
    return _Coded(values, codes)


def _padded(values: pl.Series, length: int) -> pl.Series:
    return values.extend_constant(None, length - len(values))


def split_by_value(
    raw: pl.DataFrame,
    clean: Cleaning,
    by_value: ByValue,
    options: CleanOptions = DEFAULT_OPTIONS,
    key: Sequence[str] = (),
) -> Split:
    """``split_rows(raw, clean, options, key)`` computed once per distinct value.

    ``raw`` holds the source columns as read (String, or Categorical with their
    own ``pl.Categories`` each, which saves encoding them here); its row
    positions are ``_row``. Equal to the reference when ``clean`` is separable
    as ``by_value`` declares.
    """
    matched = match_sources(raw.columns, by_value.outputs)
    coded = {s: _coded(raw[c]) for s, c in matched.items() if c is not None}
    length = max((len(c.values) for c in coded.values()), default=1)
    distinct = pl.DataFrame(
        [_padded(coded[s].values, length).alias(c) for s, c in matched.items() if c is not None]
    ).with_columns(pl.int_range(length, dtype=pl.Int64).alias(ROW))
    # Synthetic rows: row i holds the i-th distinct value of every column.
    cleaned = clean(distinct.lazy(), options).collect()
    outputs = [c for c in cleaned.columns if c != ERRORS and c not in LINEAGE]
    sources = {c: by_value.source_of(c) for c in outputs}
    for column in cleaned[ERRORS].explode().struct.field("column").drop_nulls().unique():
        by_value.source_of(column)

    def per_row(values: pl.Series, source: str, at: pl.Series | None = None) -> pl.Series:
        """``values`` (one per distinct value of ``source``) looked up for each row."""
        if source in coded:
            codes = coded[source].codes
            return values.gather(codes if at is None else codes.gather(at))
        # An absent column: the same (null) value on every row.
        return values.gather(pl.repeat(0, raw.height if at is None else len(at), eager=True))

    failed = pl.repeat(False, raw.height, eager=True)
    for source, columns in by_value.outputs.items():
        entry_columns = pl.element().struct.field("column")
        bad = cleaned[ERRORS].list.eval(entry_columns.is_in(list(columns))).list.any()
        if bad.any():
            failed = failed | per_row(bad, source)
    kept = (~failed).arg_true()
    if key:
        # The last valid row of each key: keys compared as cleaned values, each
        # value standing for its first distinct index.
        first = cleaned.with_row_index("__first")
        ids = {
            k: per_row(first.select(pl.col("__first").min().over(k)).to_series(), sources[k], kept)
            for k in key
        }
        last = pl.DataFrame(ids).with_columns(kept.alias(ROW)).unique(subset=list(key), keep="last")
        kept = last[ROW].sort()
    valid = pl.DataFrame(
        [
            kept.cast(pl.Int64).alias(ROW) if c == ROW else per_row(cleaned[c], sources[c], kept)
            for c in cleaned.columns
            if c != ERRORS
        ]
    )
    return Split(valid, _failed_rows(raw, failed.arg_true(), clean, options))


def _failed_rows(
    raw: pl.DataFrame, at: pl.Series, clean: Cleaning, options: CleanOptions
) -> pl.DataFrame:
    """The rows at ``at`` cleaned row by row, as they are: their errors as the cleaning says."""
    rows = raw[at].with_columns(pl.all().cast(pl.String), at.cast(pl.Int64).alias(ROW))
    cleaned = clean(rows.lazy(), options).collect()
    return cleaned.filter(pl.col(ERRORS).list.len() > 0)
