"""Delimited text: a sample of the head for landing, the whole file lazily for trusted."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.lake.read_options import LONE_CR, ReadOptions
from agrolake.readers.file_sample import FileSample, text_table
from agrolake.readers.reader_limits import ReaderLimits, check_columns, over_limit
from agrolake.readers.text_profile import profile_text

TEXT_SAMPLE_BYTES = 1024 * 1024
SAMPLE_ROWS = 1000
DELIMITERS = ",;\t|"


def read_csv_sample(path: Path, head: bytes, limits: ReaderLimits) -> FileSample:
    """The header and first rows of a delimited text file, after checking the whole file."""
    profile = profile_text(path, head, limits)
    complete = path.stat().st_size <= len(head)
    # utf-8-sig: a byte-order mark is no part of the first column's name.
    codec = "utf-8-sig" if profile.encoding == "utf-8" else profile.encoding
    text = codecs.getincrementaldecoder(codec)().decode(head, final=complete)
    if not complete:
        # A sample cut mid-row would look like a malformed last row.
        text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1] or text
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise FileRejected("the file holds only blank lines", code="empty_file")
    delimiter = _delimiter(lines)
    # The head holds whole lines of up to AGROLAKE_MAX_LINE_KB: cells may be that long.
    csv.field_size_limit(max(csv.field_size_limit(), TEXT_SAMPLE_BYTES))
    try:
        # newline="": the csv module splits rows on LF, CRLF and lone CR itself.
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejected(f"the CSV cannot be parsed: {exc}", code="unreadable") from exc
    header = [cell.strip().strip('"').strip() for cell in records[0]]
    check_shape(len(header), profile.lines, limits)
    body: list[list[str | None]] = [
        list(r) for r in records[1 : SAMPLE_ROWS + 1] if any(cell.strip() for cell in r)
    ]
    options = {"encoding": profile.encoding, "delimiter": delimiter}
    if profile.newline:
        options["newline"] = profile.newline
    return FileSample("csv", [text_table(None, header, body)], options)


def _delimiter(lines: list[str]) -> str:
    """The delimiter: at a glance when the header holds one candidate and every row of
    the head parses with it into as many cells as the header (most exports, quoted cells
    and all); else the csv module's sniffer (two thirds of reading a small file's
    sample)."""
    head = [line for line in lines[:50] if line.strip()]
    found = [d for d in DELIMITERS if d in head[0]] if head else []
    if len(found) == 1:
        widths = {len(row) for row in csv.reader(head, delimiter=found[0])}
        if len(widths) == 1:
            return found[0]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return max(DELIMITERS, key=lines[0].count)


def check_shape(columns: int, rows: int, limits: ReaderLimits) -> None:
    """A table's columns, and its rows × columns, within the limits."""
    check_columns(columns, limits, "the table")
    if rows * columns > limits.max_cells:
        raise over_limit(
            "too_many_cells",
            f"the table has about {rows:,} rows × {columns:,} columns",
            "max_cells",
            f"{limits.max_cells:,} cells",
            cells=rows * columns,
        )


def scan_csv(path: Path, options: ReadOptions) -> pl.LazyFrame:
    """The whole file as text columns, lazily; rewritten first when polars cannot read it."""
    if options.transcoded:
        # polars reads UTF-8 rows split on LF: rewrite once, in a stream, next to the
        # spool file; newline=None turns every lone CR and CRLF into LF.
        utf8 = path.with_suffix(".utf8.csv")
        newline = None if options.newline == LONE_CR else ""
        with (
            path.open(encoding=options.encoding or "utf-8", newline=newline) as src,
            utf8.open("w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        path = utf8
    frame = pl.scan_csv(
        path,
        separator=options.delimiter or ",",
        infer_schema=False,
        truncate_ragged_lines=True,
    )
    names = frame.collect_schema().names()
    clean = {n: n.lstrip("\ufeff").strip().strip('"').strip() for n in names}
    return frame.rename({k: v for k, v in clean.items() if k != v})
