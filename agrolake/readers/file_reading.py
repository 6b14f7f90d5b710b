"""Read a landing file's structure, or a raw file whole, as frames of text, whatever its format.

Landing checks structure only, so it reads what structure needs: the header and
a sample of rows of each table in the file (the first MiB of a text file, the
first rows of each sheet), after making sure the whole file is within the
reader bounds (docs/limits.md): a text file is checked whole in one streaming
pass, a workbook from its archive's metadata and in a child process with a
memory bound. Every failure becomes a FileRejected with a reason in one line.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.lake.read_options import ReadOptions
from agrolake.readers.delimited import TEXT_SAMPLE_BYTES, read_csv_sample, scan_csv
from agrolake.readers.file_sample import FileSample, detect_format
from agrolake.readers.isolation import run_isolated
from agrolake.readers.json_records import read_json_frame, read_json_sample
from agrolake.readers.parquet_files import read_parquet_frame, read_parquet_sample
from agrolake.readers.reader_limits import ReaderLimits
from agrolake.readers.spool_folder import spool_file

# An encrypted OOXML workbook is an OLE container holding an "EncryptionInfo" stream.
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
ENCRYPTED = "the workbook is password-protected; export it without a password and upload again"


def read_sample(path: Path, name: str, limits: ReaderLimits | None = None) -> FileSample:
    """Read the structure of the file at ``path`` (its landing name is ``name``)."""
    limits = limits or ReaderLimits()
    with path.open("rb") as handle:
        head = handle.read(TEXT_SAMPLE_BYTES)
    if not head:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file")
    fmt = detect_format(head, name)
    if fmt in ("xlsx", "xls"):
        if fmt == "xls" and ENCRYPTION_INFO in head:
            raise FileRejected(ENCRYPTED, code="encrypted")
        try:
            sample: FileSample = run_isolated("sample_workbook", (path, fmt, limits), limits)
        except FileRejected as rejected:
            if fmt == "xls" and rejected.code == "unreadable" and _holds(path, ENCRYPTION_INFO):
                raise FileRejected(ENCRYPTED, code="encrypted") from rejected
            raise
        return sample
    if fmt == "parquet":
        return read_parquet_sample(path, limits)
    if fmt == "json":
        return read_json_sample(path, limits)
    return read_csv_sample(path, head, limits)


def read_frame(
    path: Path, options: ReadOptions, sheet: str | None, limits: ReaderLimits | None = None
) -> pl.LazyFrame:
    """The whole table of a raw file as text columns, lazily where the format allows.

    ``options`` are what landing recorded (format, encoding, delimiter, line ends);
    ``sheet`` picks a workbook's sheet. Column names are trimmed and unquoted;
    cells stay text: typing is the trusted zone's job. A workbook is parsed in the
    reader child, which writes the sheet to a Parquet file scanned here; it stays
    readable until a few more frames were read (``spool_folder``).
    """
    limits = limits or ReaderLimits()
    fmt = options.format
    if fmt == "csv":
        return scan_csv(path, options)
    if fmt in ("xlsx", "xls"):
        out = spool_file(".parquet")
        run_isolated("sheet_to_parquet", (path, fmt, sheet, out, limits), limits)
        return pl.scan_parquet(out)
    if fmt == "json":
        return read_json_frame(path, limits)
    return read_parquet_frame(path)


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the file holds ``needle``, read in chunks (a workbook may be large)."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False
