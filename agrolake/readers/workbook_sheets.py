"""Workbooks (xlsx, xls) read by calamine, through fastexcel.

These functions run in the reader child process (``worker_process``), under its
memory bound: calamine may allocate far more than a file's size, and cannot be
stopped from inside once it has started.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agrolake.errors import FileRejected
from agrolake.readers.delimited import SAMPLE_ROWS
from agrolake.readers.file_sample import FileSample, Table, sheet_table
from agrolake.readers.reader_limits import ReaderLimits, check_columns
from agrolake.readers.workbook_archive import check_archive


def sample_workbook(path: Path, fmt: str, limits: ReaderLimits) -> FileSample:
    """The header and first rows of every sheet."""
    if fmt == "xlsx":
        check_archive(path, limits)
    import fastexcel

    with _calamine_errors():
        workbook = fastexcel.read_excel(path)
        tables: list[Table] = []
        for name in workbook.sheet_names:
            sheet = workbook.load_sheet(name, n_rows=SAMPLE_ROWS, dtypes="string")
            check_columns(sheet.width, limits, f"sheet {name!r}", sheet=name)
            tables.append(sheet_table(name, sheet.to_polars()))
    return FileSample(fmt, tables)


def sheet_to_parquet(
    path: Path, fmt: str, sheet: str | None, out: Path, limits: ReaderLimits
) -> list[str]:
    """Write one whole sheet (the one named ``sheet``, else the first) to ``out``; its columns."""
    if fmt == "xlsx":
        check_archive(path, limits)
    import fastexcel

    with _calamine_errors():
        workbook = fastexcel.read_excel(path)
        names = workbook.sheet_names
        chosen = next((n for n in names if sheet and n.casefold() == sheet.casefold()), names[0])
        loaded = workbook.load_sheet(chosen, dtypes="string")
        check_columns(loaded.width, limits, f"sheet {chosen!r}", sheet=chosen)
        table = sheet_table(chosen, loaded.to_polars())
    table.frame.write_parquet(out, compression="lz4")
    return table.columns


@contextmanager
def _calamine_errors() -> Iterator[None]:
    """calamine's errors of every kind of damage as one rejection; ours pass through."""
    try:
        yield
    except (FileRejected, MemoryError):
        raise
    except BaseException as exc:
        # fastexcel's Rust panics arrive as pyo3's PanicException, a BaseException.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        text = str(exc).strip()
        reason = text.splitlines()[0][:300] if text else type(exc).__name__
        raise FileRejected(f"the workbook cannot be read: {reason}", code="unreadable") from exc
