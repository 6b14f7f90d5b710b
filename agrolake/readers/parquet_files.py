"""Parquet files: shape and sizes checked from the footer before any data page is read."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.readers.delimited import SAMPLE_ROWS, check_shape
from agrolake.readers.file_sample import FileSample, Table
from agrolake.readers.reader_limits import MB, ReaderLimits, over_limit

#: The footer (schema and row-group metadata) is parsed whole; real ones are kilobytes.
MAX_FOOTER_BYTES = 64 * MB


def read_parquet_sample(path: Path, limits: ReaderLimits) -> FileSample:
    """The columns and first rows of a Parquet file whose metadata is within the limits."""
    check_parquet(path, limits)
    try:
        frame = pl.read_parquet(path, n_rows=SAMPLE_ROWS)
    except Exception as exc:  # pyarrow/polars raise several types for corrupt files
        raise FileRejected(f"the Parquet file cannot be read: {exc}", code="unreadable") from exc
    frame = frame.cast(pl.String, strict=False)
    return FileSample("parquet", [Table(None, frame.columns, frame)])


def read_parquet_frame(path: Path) -> pl.LazyFrame:
    """The whole file as text columns, lazily (row group by row group)."""
    return pl.scan_parquet(path).select(pl.all().cast(pl.String))


def check_parquet(path: Path, limits: ReaderLimits) -> None:
    """Columns, cells, uncompressed bytes and the largest row group within the limits."""
    import pyarrow.parquet as pq

    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(size - 8, 0))
        tail = handle.read(8)
    footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else 0
    if tail[4:] != b"PAR1" or footer + 12 > size:
        raise FileRejected(
            "the Parquet file is truncated: its footer is missing", code="unreadable"
        )
    if footer > MAX_FOOTER_BYTES:
        raise FileRejected(
            f"the Parquet footer is {footer / MB:,.0f} MiB; real ones are kilobytes",
            code="unreadable",
        )
    try:
        meta = pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises OSError/ArrowInvalid for a damaged footer
        raise FileRejected(f"the Parquet file cannot be read: {exc}", code="unreadable") from exc
    check_shape(meta.num_columns, meta.num_rows, limits)
    groups = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    total, largest = sum(groups), max(groups, default=0)
    if total > limits.bytes_of("max_uncompressed_mb"):
        raise over_limit(
            "uncompressed_too_large",
            f"the Parquet data is {total / MB:,.0f} MiB uncompressed",
            "max_uncompressed_mb",
            f"{limits.max_uncompressed_mb:g} MB",
            uncompressed=total,
        )
    if largest > limits.bytes_of("max_row_group_mb"):
        raise over_limit(
            "row_group_too_large",
            f"a row group of the Parquet file is {largest / MB:,.0f} MiB uncompressed",
            "max_row_group_mb",
            f"{limits.max_row_group_mb:g} MB",
            row_group=largest,
        )
