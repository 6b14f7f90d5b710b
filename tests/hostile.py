"""Hostile landing files, generated: each with the code landing must reject it with,
or ``raw`` for awkward files that must be read.

Nothing here is checked in: every file is written by code, in a few seconds,
most of it deflate (the 800 MB shared string is 0.8 MB on disk). Cases whose
honest form costs minutes to write (a 15 M-row workbook, a JSON over 64 MB) are
smaller equivalents: the same file against a lower limit (``CORPUS_LIMITS``),
which the checks compare the same way.
"""

from __future__ import annotations

import base64
import json
import random
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agrolake.readers.workbook_archive import column_name
from agrolake.samples import ACTIVITY_HEADERS, write_activities, write_wine_quality

MIB = 1024 * 1024
#: Settings the corpus is built for: defaults but for these, lowered so the smaller
#: equivalents stay small. Every other limit is at its default.
CORPUS_LIMITS = {
    "max_cells": 1_000_000,
    "max_workbook_cells": 200_000,
    "max_uncompressed_mb": 32.0,
    "max_json_mb": 1.0,
    "max_row_group_mb": 1.0,
}


@dataclass(frozen=True)
class Hostile:
    name: str
    expect: str  # a rejection code, or "raw"
    write: Callable[[Path], object]
    what: str


# --------------------------------------------------------------------------- workbooks

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"


def _parts(shared: bool) -> dict[str, str]:
    strings_type = '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'  # noqa: E501
    strings_rel = (
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    return {
        "[Content_Types].xml": f'<Types xmlns="{_PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'  # noqa: E501
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'  # noqa: E501
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'  # noqa: E501
        f"{strings_type if shared else ''}</Types>",
        "_rels/.rels": f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'<workbook {_NS} xmlns:r="{_REL}"><sheets>'
        '<sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f"{strings_rel if shared else ''}</Relationships>",
    }


def write_xlsx(
    path: Path,
    rows: Iterable[str],
    *,
    dimension: str | None = None,
    shared_strings: Iterable[bytes] | None = None,
) -> Path:
    """A minimal xlsx of one sheet ``Hoja1`` from row XML, streamed into the zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in _parts(shared_strings is not None).items():
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f"<worksheet {_NS}>".encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for row in rows:
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
        if shared_strings is not None:
            with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
                for chunk in shared_strings:
                    strings.write(chunk)
    return path


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def row(number: int, *cells: str) -> str:
    return f'<row r="{number}">{"".join(cells)}</row>'


def _corner(far: str, *, dimension: str | None = None) -> Callable[[Path], Path]:
    """A header at A1 and one cell far away: calamine's rectangle spans both."""
    number = int("".join(c for c in far if c.isdigit()))
    return lambda p: write_xlsx(
        p, [row(1, cell("A1", "Finca")), row(number, cell(far, "x"))], dimension=dimension
    )


def _padded(mib: int) -> Callable[[Path], Path]:
    """A tiny sheet padded with ``mib`` MiB of blanks (deflate: about 1,000 to 1)."""

    def rows() -> Iterator[str]:
        yield row(1, cell("A1", "Finca"))
        blank = " " * MIB
        for _ in range(mib):
            yield blank

    return lambda p: write_xlsx(p, rows())


def _one_huge_shared_string(mib: int) -> Callable[[Path], Path]:
    def strings() -> Iterator[bytes]:
        yield b'<sst count="1" uniqueCount="1"><si><t>'
        block = b"a" * MIB
        for _ in range(mib):
            yield block
        yield b"</t></si></sst>"

    header = row(1, '<c r="A1" t="s"><v>0</v></c>')
    return lambda p: write_xlsx(p, [header], dimension="A1", shared_strings=strings())


def _cloned_shared_string(p: Path) -> Path:
    """One 1 MiB shared string used by 2,000 cells: calamine clones it into each (2 GB)."""
    # Random letters: a string that compresses as little as real text does.
    text = base64.b64encode(random.Random(7).randbytes(MIB * 3 // 4))
    strings = [b'<sst count="2000" uniqueCount="1"><si><t>', text, b"</t></si></sst>"]
    rows = (row(n, f'<c r="A{n}" t="s"><v>0</v></c>') for n in range(1, 2001))
    return write_xlsx(p, rows, dimension="A1:A2000", shared_strings=strings)


def _many_rows(p: Path) -> Path:
    """60,000 rows × 4 columns, no <dimension>: found by scanning the cell references."""
    header = row(1, *(cell(f"{c}1", c) for c in "ABCD"))
    body = (row(n, *(cell(f"{c}{n}", str(n)) for c in "ABCD")) for n in range(2, 60_002))
    return write_xlsx(p, [header, *body])


def _wide_sheet(p: Path) -> Path:
    names = [column_name(i) for i in range(5000)]
    return write_xlsx(p, [row(1, *(cell(f"{n}1", f"c{n}") for n in names))])


# --------------------------------------------------------------------------- text

_ROW = "03/04/2024,PODA,LOS ALMENDROS 12,50-96-0-0-12-34-1\n"


def _activities_text(path: Path, rows: int = 30, seed: int = 21) -> str:
    return write_activities(path, rows=rows, seed=seed).read_text()


def _past_first_mib(head: str, tail: bytes) -> Callable[[Path], object]:
    """A file good for more than its first MiB, then ``tail``."""
    filler = _ROW * (MIB // len(_ROW) + 50)
    return lambda p: p.write_bytes(head.encode() + filler.encode() + tail + _ROW.encode())


def _wine_utf16(p: Path) -> object:
    text = write_wine_quality(p, rows=30, seed=31).read_text()
    return p.write_bytes(text.encode("utf-16"))


def _line_ends(ends: Callable[[int], str]) -> Callable[[Path], object]:
    def write(p: Path) -> object:
        lines = _activities_text(p, seed=41 + len(ends(0))).splitlines()
        return p.write_bytes("".join(line + ends(i) for i, line in enumerate(lines)).encode())

    return write


def _unterminated_quote(p: Path) -> object:
    lines = _activities_text(p).splitlines()
    lines[5] = lines[5].replace(",", ',"', 1)  # a quote opens a cell and never closes
    return p.write_text("\n".join(lines) + "\n")


def _empty_cells(p: Path) -> object:
    header = ",".join(f"c{i}" for i in range(100))
    return p.write_text(header + "\n" + ("," * 99 + "\n") * 20_000)


# --------------------------------------------------------------------------- JSON, Parquet


def _deep_json(p: Path) -> object:
    return p.write_bytes(b"[" * 100_000 + b"]" * 100_000)


def _big_json(p: Path) -> object:
    record = {"fecha": "2024-03-01", "indicativo": "9434", "tmed": "10,2", "prec": "0,0"}
    return p.write_text(json.dumps([record] * 25_000))  # 2 MB


def _huge_row_group(p: Path) -> object:
    import polars as pl

    values = [f"valor distinto {i:012d}" for i in range(100_000)]  # ~3 MB, one row group
    return pl.DataFrame({"ndvi": values}).write_parquet(p, row_group_size=1_000_000)


def _many_parquet_cells(p: Path) -> object:
    import polars as pl

    return pl.DataFrame({"a": [0] * 600_000, "b": [0] * 600_000}).write_parquet(p)


CASES = [
    Hostile("hoja_XFD1048576.xlsx", "workbook_too_large", _corner("XFD1048576"),
            "a header and one inline string at XFD1048576 (12 KB: a 512 GiB rectangle)"),
    Hostile("hoja_AAA1000000.xlsx", "workbook_too_large", _corner("AAA1000000"),
            "a header and one cell at AAA1000000 (703 M cells)"),
    Hostile("dimension_mentirosa.xlsx", "reader_memory_exceeded",
            _corner("XFD1048576", dimension="A1:B2"),
            "the XFD1048576 sheet claiming A1:B2: past the static checks, stopped by the bound"),
    Hostile("cadena_800mb.xlsx", "shared_strings_too_large", _one_huge_shared_string(800),
            "one 800 MB shared string in 0.8 MB of sharedStrings.xml"),
    Hostile("cadena_clonada.xlsx", "reader_memory_exceeded", _cloned_shared_string,
            "a 1 MiB shared string in 2,000 cells: calamine clones it into each (2 GB)"),
    Hostile("bomba_zip.xlsx", "zip_bomb", _padded(20),
            "a sheet padded with 20 MiB of blanks: inflates ~1,000 times"),
    Hostile("descomprimido_40mb.xlsx", "uncompressed_too_large", _padded(40),
            "40 MiB inflated, over AGROLAKE_MAX_UNCOMPRESSED_MB=32"),
    Hostile("dimension_15m_filas.xlsx", "workbook_too_large",
            lambda p: write_xlsx(p, [row(1, cell("A1", "x"))], dimension="A1:D15000001"),
            "a sheet whose dimension spans 15 M rows × 4 columns"),
    Hostile("filas_60000.xlsx", "workbook_too_large", _many_rows,
            "60,000 rows × 4 columns without a dimension, over 200,000 cells: the 15 M-row "
            "workbook's smaller equivalent"),
    Hostile("columnas_5000.xlsx", "too_many_columns", _wide_sheet, "a sheet of 5,000 columns"),
    Hostile("linea_5mb.csv", "line_too_long",
            lambda p: p.write_text(",".join(ACTIVITY_HEADERS) + "\n03/04/2024," + "x" * 5 * MIB
                                   + ",a,b\n"),
            "a header and one 5 MB row"),
    Hostile("comilla_sin_cerrar.csv", "unterminated_quote", _unterminated_quote,
            "a quote opened on line 6 and never closed"),
    Hostile("binario_tras_1mib.csv", "unreadable",
            _past_first_mib(",".join(ACTIVITY_HEADERS) + "\n", b"\x00\x01\x02\xff\xfe"),
            "binary bytes after the first MiB"),
    Hostile("latin1_tras_1mib.csv", "bad_encoding",
            _past_first_mib(",".join(ACTIVITY_HEADERS) + "\n03/04/2024,PODA,PEÑÍSCOLA,x\n",
                            "05/04/2024,PODA,PEÑÍSCOLA,x\n".encode("latin-1")),
            "UTF-8 for a MiB (Ñ included), then latin-1 bytes"),
    Hostile("utf16_sin_bom.csv", "unreadable",
            lambda p: p.write_bytes("a,b\n1,2\n".encode("utf-16-le")), "UTF-16 without a BOM"),
    Hostile("columnas_5000.csv", "too_many_columns",
            lambda p: p.write_text(",".join(f"c{i}" for i in range(5000)) + "\n" + "," * 4999),
            "a header of 5,000 columns"),
    Hostile("celdas_vacias.csv", "too_many_cells", _empty_cells,
            "20,000 rows × 100 empty cells, over 1,000,000 cells"),
    Hostile("anidado.json", "json_too_deep", _deep_json, "arrays nested 100,000 deep"),
    Hostile("enorme.json", "json_too_large", _big_json,
            "2 MB of records, over AGROLAKE_MAX_JSON_MB=1: a huge JSON's smaller equivalent"),
    Hostile("grupo_enorme.parquet", "row_group_too_large", _huge_row_group,
            "one row group of ~3 MB uncompressed, over AGROLAKE_MAX_ROW_GROUP_MB=1"),
    Hostile("celdas.parquet", "too_many_cells", _many_parquet_cells,
            "600,000 rows × 2 columns, over 1,000,000 cells"),
    # Awkward but good: read, and on to trusted.
    Hostile("latin1_tras_1mib_ascii.csv", "raw",
            _past_first_mib(",".join(ACTIVITY_HEADERS) + "\n",
                            "05/04/2024,PODA,PEÑÍSCOLA 3,50-96-0-0-12-34-2\n".encode("latin-1")),
            "ASCII for a MiB, then latin-1: read as Windows-1252"),
    Hostile("winequality-utf16.csv", "raw", _wine_utf16, "UTF-16 with a byte-order mark"),
    Hostile("actividades_cr.csv", "raw", _line_ends(lambda i: "\r"),
            "lines ending in a lone CR (Excel for Mac)"),
    Hostile("actividades_mezcla.csv", "raw", _line_ends(lambda i: ("\n", "\r\n", "\r")[i % 3]),
            "LF, CRLF and lone CR mixed"),
]  # fmt: skip


def build(folder: Path) -> list[tuple[Hostile, Path]]:
    """Write every case under ``folder``; the cases with their files."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in CASES:
        path = folder / case.name
        if not path.exists():
            case.write(path)
        written.append((case, path))
    return written
