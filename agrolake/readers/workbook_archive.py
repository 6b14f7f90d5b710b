"""An xlsx archive checked before calamine allocates anything for it.

calamine reads a sheet into one rectangle of cells (about 32 bytes each, plus
the text) spanning its first to its last cell, and the shared strings whole:
one cell at ``XFD1048576`` beside ``A1`` asks for 512 GiB. So, from the zip's
directory: the total inflated size, the shared strings' size and each large
part's compression ratio; from each sheet's XML: the span of its cells, read
from its ``<dimension>`` element or, without one, by scanning the cell
references. A file that lies in its metadata gets past these checks but not
past the memory bound of the process that parses it (``isolation``).
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agrolake.errors import FileRejected
from agrolake.readers.reader_limits import MB, ReaderLimits, check_columns, over_limit

#: Parts smaller than this may inflate as much as they like (they cannot hurt).
RATIO_FLOOR = MB
#: Small XML parts (workbook, relationships) are read at most this far.
SMALL_PART = 8 * MB
HEAD = 64 * 1024
CHUNK = MB

SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
RELATIONSHIP_TAG = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")
ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')
DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,4})([0-9]{1,10})(?::([A-Z]{1,4})([0-9]{1,10}))?"'
)
SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\b")


@dataclass(frozen=True)
class SheetSpan:
    """The rectangle of a sheet's cells, 0-based and inclusive."""

    first_row: int
    last_row: int
    first_column: int
    last_column: int

    @property
    def columns(self) -> int:
        return self.last_column - self.first_column + 1

    @property
    def cells(self) -> int:
        return (self.last_row - self.first_row + 1) * self.columns

    def __str__(self) -> str:
        start = f"{column_name(self.first_column)}{self.first_row + 1}"
        return f"{start}:{column_name(self.last_column)}{self.last_row + 1}"


def column_index(letters: bytes) -> int:
    """``A`` → 0, ``XFD`` → 16383."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


def column_name(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def check_archive(path: Path, limits: ReaderLimits) -> None:
    """Reject an xlsx whose sizes, ratios or sheet spans are over the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_sizes(archive.infolist(), limits)
            for name, part in _sheet_parts(archive).items():
                span = sheet_span(archive, part)
                if span is not None:
                    _check_span(name, span, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: a part encrypted with a zip password.
        raise FileRejected(f"the workbook cannot be read: {exc}", code="unreadable") from exc


def _check_sizes(entries: list[zipfile.ZipInfo], limits: ReaderLimits) -> None:
    shared = [e for e in entries if e.filename.lower().endswith("sharedstrings.xml")]
    for entry in shared:
        if entry.file_size > limits.bytes_of("max_shared_strings_mb"):
            raise over_limit(
                "shared_strings_too_large",
                f"the workbook's shared strings are {entry.file_size / MB:,.0f} MiB",
                "max_shared_strings_mb",
                f"{limits.max_shared_strings_mb:g} MB",
                shared_strings=entry.file_size,
            )
    total = sum(e.file_size for e in entries)
    if total > limits.bytes_of("max_uncompressed_mb"):
        raise over_limit(
            "uncompressed_too_large",
            f"the workbook inflates to {total / MB:,.0f} MiB",
            "max_uncompressed_mb",
            f"{limits.max_uncompressed_mb:g} MB",
            uncompressed=total,
        )
    for entry in entries:
        if (
            entry.file_size > RATIO_FLOOR
            and entry.file_size > entry.compress_size * limits.max_zip_ratio
        ):
            ratio = entry.file_size / max(entry.compress_size, 1)
            raise over_limit(
                "zip_bomb",
                f"{entry.filename} inflates {ratio:,.0f} times "
                f"({entry.compress_size:,} bytes to {entry.file_size / MB:,.0f} MiB)",
                "max_zip_ratio",
                f"{limits.max_zip_ratio:g} times",
                part=entry.filename,
                ratio=round(ratio),
            )


def _check_span(sheet: str, span: SheetSpan, limits: ReaderLimits) -> None:
    if span.cells > limits.max_workbook_cells:
        raise over_limit(
            "workbook_too_large",
            f"sheet {sheet!r} spans {span} ({span.cells:,} cells)",
            "max_workbook_cells",
            f"{limits.max_workbook_cells:,} cells",
            sheet=sheet,
            cells=span.cells,
        )
    check_columns(span.columns, limits, f"sheet {sheet!r}", sheet=sheet, span=str(span))


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name and part, as calamine finds them: workbook → relationships."""
    names = set(archive.namelist())
    package = _relationships(archive, "_rels/.rels", "")
    book = next((t for t, kind in package.values() if kind.endswith("/officeDocument")), "")
    book = book if book in names else "xl/workbook.xml"
    folder = posixpath.dirname(book)
    rels = f"{folder}/_rels/{posixpath.basename(book)}.rels".lstrip("/")
    targets = _relationships(archive, rels, folder)
    parts: dict[str, str] = {}
    for tag in SHEET_TAG.findall(_small(archive, book)):
        attributes = dict(ATTRIBUTE.findall(tag))
        name = html.unescape(attributes.get(b"name", b"").decode("utf-8", "replace"))
        rid = next((v for k, v in attributes.items() if k.endswith(b":id")), b"")
        target = targets.get(rid.decode("utf-8", "replace"), ("", ""))[0]
        if target in names:
            parts[name] = target
    if not parts:  # no readable workbook part: every worksheet-looking part
        worksheets = sorted(
            n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")
        )
        parts = {posixpath.basename(n): n for n in worksheets}
    return parts


def _relationships(archive: zipfile.ZipFile, part: str, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (target part, type) of a ``.rels`` part."""
    found: dict[str, tuple[str, str]] = {}
    for tag in RELATIONSHIP_TAG.findall(_small(archive, part)):
        attributes = {k.decode(): v.decode("utf-8", "replace") for k, v in ATTRIBUTE.findall(tag)}
        target = attributes.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        found[attributes.get("Id", "")] = (posixpath.normpath(target), attributes.get("Type", ""))
    return found


def _small(archive: zipfile.ZipFile, part: str) -> bytes:
    try:
        with archive.open(part) as handle:
            return handle.read(SMALL_PART)
    except KeyError:
        return b""


def sheet_span(archive: zipfile.ZipFile, part: str) -> SheetSpan | None:
    """The span of a sheet's cells: its ``<dimension>``, or a scan of its cell references."""
    with archive.open(part) as handle:
        head = handle.read(HEAD)
        data = SHEET_DATA.search(head)
        found = DIMENSION.search(head, 0, data.start() if data else len(head))
        if found:
            first_col, first_row, last_col, last_row = found.groups()
            last_col, last_row = last_col or first_col, last_row or first_row
            return SheetSpan(
                int(first_row) - 1,
                int(last_row) - 1,
                column_index(first_col),
                column_index(last_col),
            )
        prefix = data[1] if data and data[1] else b""
        return _scan_span(head, handle, prefix)


def _scan_span(head: bytes, handle: IO[bytes], prefix: bytes) -> SheetSpan | None:
    """The span from the cell references, as writers put them: ``<c r="B7" …>``, in order.

    The first and the last reference give the rows; the columns are listed once,
    then each chunk is only searched for a column not seen yet (a search that
    allocates nothing: 10 times faster than listing every reference). A sheet
    written otherwise (cells out of order, ``r`` not first) may be undercounted
    here; the reader child's memory bound holds for it all the same.
    """
    cell = re.compile(rb"<" + re.escape(prefix) + rb'c r="([A-Z]{1,4})([0-9]{1,10})"')
    columns: set[bytes] = set()
    unseen: re.Pattern[bytes] | None = None
    first_row = last_row = None
    for body in _tag_aligned(head, handle):
        first = cell.search(body)
        if first is None:
            continue
        last = cell.match(body, body.rfind(b"<" + prefix + b'c r="'))
        first_row = first_row or int(first[2])
        last_row = int(last[2]) if last else last_row
        if unseen is None or unseen.search(body):
            columns.update(c for c, _ in cell.findall(body))
            known = b"|".join(sorted(columns))
            unseen = re.compile(rb"<" + re.escape(prefix) + rb'c r="(?!(?:' + known + rb")[0-9])")
    if first_row is None or last_row is None:
        return None
    indexes = [column_index(c) for c in columns]
    return SheetSpan(first_row - 1, max(first_row, last_row) - 1, min(indexes), max(indexes))


def _tag_aligned(head: bytes, handle: IO[bytes]) -> Iterator[bytes]:
    """The inflated part in chunks that end before a tag, so none is cut in two."""
    rest = head
    while chunk := handle.read(CHUNK):
        data = rest + chunk
        cut = data.rfind(b"<")
        yield data[:cut]
        rest = data[cut:] if len(data) - cut <= CHUNK else b""  # no tag is a MiB long
    yield rest
