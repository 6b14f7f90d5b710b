"""What a reader gives landing: a file's format and its tables as text columns."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.lake.read_options import ReadOptions

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PARQUET_MAGIC = b"PAR1"
#: Byte-order marks, longest first: UTF-32 LE's starts with UTF-16 LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Table:
    """One table of a file (a sheet, or the file itself) as text columns."""

    name: str | None
    columns: list[str]
    frame: pl.DataFrame
    details: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.frame.height


@dataclass
class FileSample:
    """What landing knows about a file after reading its head."""

    format: str  # csv, xlsx, xls, json, parquet
    tables: list[Table]
    options: dict[str, str] = field(default_factory=dict)

    @property
    def read_options(self) -> ReadOptions:
        """How to read the whole file as this sample was read (recorded on the ingest)."""
        return ReadOptions(
            self.format,
            self.options.get("encoding"),
            self.options.get("delimiter"),
            self.options.get("newline"),
        )

    def table(self, name: str | None) -> Table | None:
        for table in self.tables:
            if table.name == name or (
                name and table.name and table.name.casefold() == name.casefold()
            ):
                return table
        return None


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark names, if the text starts with one."""
    return next((name for bom, name in BOMS if head.startswith(bom)), None)


def detect_format(head: bytes, name: str) -> str:
    """The file's format from its first bytes, the name only breaking ties."""
    suffix = Path(name).suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    encoding = bom_encoding(head)
    start = head[:64].decode(encoding, "ignore") if encoding else head[:64].decode("latin-1")
    if start.lstrip("\ufeff \t\r\n")[:1] in ("[", "{") and suffix != ".csv":
        return "json"
    return "csv"


def check_header(name: str | None, header: list[str]) -> None:
    """A header names at least one column and none twice."""
    where = f"sheet {name!r}" if name else "the header"
    if not any(header):
        raise FileRejected(f"{where} has no column names", code="unreadable")
    seen: set[str] = set()
    repeated = [c for c in header if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if repeated:
        raise FileRejected(
            f"duplicate column names in {where}: {', '.join(sorted(set(repeated)))}",
            code="duplicate_columns",
            columns=sorted(set(repeated)),
        )


def text_table(name: str | None, header: list[str], body: list[list[str | None]]) -> Table:
    """A table of text cells from a header and rows (short rows padded with nulls)."""
    check_header(name, header)
    width = len(header)
    columns = {
        col: [row[i] if i < len(row) else None for row in body] for i, col in enumerate(header)
    }
    frame = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    ragged = sum(1 for row in body if len(row) != width)
    details = {"ragged_rows": str(ragged)} if ragged else {}
    return Table(name, header, frame, details)


def sheet_table(name: str, frame: pl.DataFrame) -> Table:
    """A sheet as calamine read it, without its blank columns and rows."""
    header = [str(c).strip() for c in frame.columns]
    # calamine names blank header cells __UNNAMED__n; they are no columns of ours.
    keep = [c for c in frame.columns if not str(c).startswith("__UNNAMED__")]
    frame = frame.select(keep).rename({c: str(c).strip() for c in keep})
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null())) if frame.width else frame
    check_header(name, [h for h in header if not h.startswith("__UNNAMED__")] or [""])
    return Table(name, frame.columns, frame)
