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

from agrolake.lake.naming import match_sources
from agrolake.transforms.row_errors import ERRORS, LINEAGE, ROW, valid_rows

# A row-wise cleaning with its options bound: raw text columns in, ``_errors`` out.
Cleaning = Callable[[pl.LazyFrame], pl.LazyFrame]
MAX_KEY_NUMBER = 2**64  # keys are numbered as UInt64 when their parts allow it


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


def split_rows(raw: pl.DataFrame, clean: Cleaning, key: Sequence[str] = ()) -> Split:
    """The reference: ``clean`` on every row, valid rows deduplicated on ``key``."""
    numbered = raw.lazy().with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
    cleaned = clean(numbered).collect()
    valid = valid_rows(cleaned.lazy())
    if key:
        valid = valid.unique(subset=list(key), keep="last", maintain_order=True)
    return Split(valid.collect(), cleaned.filter(pl.col(ERRORS).list.len() > 0))


@dataclass(frozen=True)
class _Coded:
    """One raw column as indices into its distinct values, the last of which is null."""

    values: pl.Series
    codes: pl.Series
    has_nulls: bool

    def any_read(self, flags: pl.Series) -> bool:
        """Whether a flag (one per value) holds for a value the column has."""
        null = len(self.values) - 1
        return bool(flags.slice(0, null).any() or (self.has_nulls and flags[null]))

    def per_row(self, values: pl.Series, at: pl.Series | None = None) -> pl.Series:
        """``values`` (one per distinct value) for each row, or for the rows ``at``."""
        return values.gather(self.codes if at is None else self.codes.gather(at))


def _coded(column: pl.Series) -> _Coded:
    dtype = column.dtype
    if not isinstance(dtype, pl.Categorical) or dtype.categories.is_global():
        # Own categories, so the distinct values are this column's and no other's.
        column = column.cast(pl.String).cast(pl.Categorical(pl.Categories.random()))
        dtype = column.dtype
    assert isinstance(dtype, pl.Categorical)
    codes = column.cat.physical()
    # Every code's text, natively (``Categories.to_series`` loops in Python).
    top = codes.max()
    count = top + 1 if isinstance(top, int) else 0
    positions = pl.int_range(count, dtype=pl.UInt32, eager=True).cast(codes.dtype).to_frame()
    # A code reserved but never given a text (concurrent inserts) reads as null, unused.
    values = positions.select(pl.first().cat.to(dtype, strict=False).cast(pl.String)).to_series()
    values = values.extend_constant(None, 1)
    has_nulls = codes.null_count() > 0
    if has_nulls:
        codes = codes.fill_null(len(values) - 1)
    return _Coded(values, codes, has_nulls)


def _absent(height: int) -> _Coded:
    """A column the file lacks: every row holds the null value (index 0 of one)."""
    codes = pl.repeat(0, height, dtype=pl.UInt32, eager=True)
    return _Coded(pl.Series([None], dtype=pl.String), codes, has_nulls=height > 0)


def split_by_value(
    raw: pl.DataFrame, clean: Cleaning, by_value: ByValue, key: Sequence[str] = ()
) -> Split:
    """``split_rows(raw, clean, key)`` computed once per distinct value.

    ``raw`` holds the source columns as read (String, or Categorical with their
    own ``pl.Categories`` each, which saves encoding them here); its row
    positions are ``_row``. Equal to the reference when ``clean`` is separable
    as ``by_value`` declares.
    """
    matched = match_sources(raw.columns, by_value.outputs)
    coded = {
        s: _coded(raw[c]) if c is not None else _absent(raw.height) for s, c in matched.items()
    }
    length = max(len(c.values) for c in coded.values())
    # Synthetic rows: row i holds the i-th distinct value of every column. A short
    # column is padded with its first value, not nulls: rows whose every check
    # fails cost the cleaning far more than valid ones, and the padding is never read.
    padded = {c: coded[s].values for s, c in matched.items() if c is not None}
    distinct = pl.DataFrame(
        [v.extend_constant(v[0], length - len(v)).alias(c) for c, v in padded.items()]
    ).with_columns(pl.int_range(length, dtype=pl.Int64).alias(ROW))
    cleaned = clean(distinct.lazy()).collect(engine="streaming")
    outputs = [c for c in cleaned.columns if c != ERRORS and c not in LINEAGE]
    by_output = {c: coded[by_value.source_of(c)] for c in outputs}
    for column in cleaned[ERRORS].explode().struct.field("column").drop_nulls().unique():
        by_value.source_of(column)

    failed = _failed(cleaned, by_value, coded)
    kept = None if failed is None else (~failed).arg_true()
    if key:
        firsts = cleaned.with_row_index("__first")
        ids = [firsts.select(pl.col("__first").min().over(k)).to_series() for k in key]
        kept = _last_per_key([(i, by_output[k]) for i, k in zip(ids, key, strict=True)], kept)
    if kept is None:
        kept = pl.int_range(raw.height, dtype=pl.UInt32, eager=True)
    valid = pl.DataFrame(
        [
            kept.cast(pl.Int64).alias(ROW) if c == ROW else by_output[c].per_row(cleaned[c], kept)
            for c in cleaned.columns
            if c != ERRORS
        ]
    )
    at = pl.Series([], dtype=pl.UInt32) if failed is None else failed.arg_true()
    return Split(valid, _failed_rows(raw, at, clean))


def _failed(cleaned: pl.DataFrame, by_value: ByValue, coded: dict[str, _Coded]) -> pl.Series | None:
    """Whether each row has an error (None when no value of the file has one)."""
    failed: pl.Series | None = None
    for source, outputs in by_value.outputs.items():
        mine = pl.element().struct.field("column").is_in(list(outputs))
        bad = cleaned[ERRORS].list.eval(mine).list.any()
        if coded[source].any_read(bad):  # the padding and an absent null do not count
            row_bad = coded[source].per_row(bad)
            failed = row_bad if failed is None else failed | row_bad
    return failed


def _last_per_key(ids: list[tuple[pl.Series, _Coded]], kept: pl.Series | None) -> pl.Series:
    """Positions of the last row of each key among the rows ``kept`` (all when None), in order.

    A key part is an id per distinct value (equal cleaned values, equal ids), so
    the key of a row is a number: distinct keys are few even when rows are many.
    """
    span = 1
    for part, _ in ids:
        span *= len(part)
    if span > MAX_KEY_NUMBER:  # too many distinct values to number the keys: compare the parts
        frame = pl.DataFrame([c.per_row(p, kept).alias(str(i)) for i, (p, c) in enumerate(ids)])
        at = frame.with_row_index("__at").unique(subset=frame.columns, keep="last")["__at"].sort()
    else:
        number: pl.Series | None = None
        for part, column in ids:
            row_part = column.per_row(part, kept).cast(pl.UInt64)
            number = row_part if number is None else number * len(part) + row_part
        assert number is not None
        last_first = number.reverse().arg_unique()
        at = (len(number) - 1 - last_first.cast(pl.Int64)).sort().cast(pl.UInt32)
    return at if kept is None else kept.gather(at)


def _failed_rows(raw: pl.DataFrame, at: pl.Series, clean: Cleaning) -> pl.DataFrame:
    """The rows at ``at`` cleaned row by row, as they are: their errors as the cleaning says."""
    rows = raw[at].with_columns(pl.all().cast(pl.String), at.cast(pl.Int64).alias(ROW))
    cleaned = clean(rows.lazy()).collect()
    return cleaned.filter(pl.col(ERRORS).list.len() > 0)
