"""Read the head of a landing file into frames of text, whatever its format.

Landing checks structure only, so it reads what structure needs: the header and
a sample of rows of each table in the file (the first MiB of a text file, the
first rows of each sheet). Every failure becomes a FileRejected with the
parser's reason in one line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from agrolake.errors import FileRejected
from agrolake.lake.read_options import ReadOptions

TEXT_SAMPLE_BYTES = 1024 * 1024
SAMPLE_ROWS = 1000
DELIMITERS = ",;\t|"

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PARQUET_MAGIC = b"PAR1"
# An encrypted OOXML workbook is an OLE container holding an "EncryptionInfo" stream.
ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


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
        return ReadOptions(self.format, self.options.get("encoding"), self.options.get("delimiter"))

    def table(self, name: str | None) -> Table | None:
        for table in self.tables:
            if table.name == name or (
                name and table.name and table.name.casefold() == name.casefold()
            ):
                return table
        return None


def detect_format(head: bytes, name: str) -> str:
    """The file's format from its first bytes, the name only breaking ties."""
    suffix = Path(name).suffix.lower()
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE_MAGIC):
        return "xls"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{") and suffix != ".csv":
        return "json"
    return "csv"


def read_sample(path: Path, name: str) -> FileSample:
    """Read the structure of the file at ``path`` (its landing name is ``name``)."""
    with path.open("rb") as handle:
        head = handle.read(TEXT_SAMPLE_BYTES)
    if not head:
        raise FileRejected("the file is empty (0 bytes)", code="empty_file")
    fmt = detect_format(head, name)
    if fmt in ("xlsx", "xls"):
        return _read_workbook(path, head, fmt)
    if fmt == "parquet":
        return _read_parquet(path)
    if fmt == "json":
        return _read_json(path)
    return _read_csv(head, complete=path.stat().st_size <= len(head))


def _decode(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 if it decodes, else the detector's best guess."""
    if b"\x00" in data:
        raise FileRejected(
            "the file holds binary data, not delimited text (NUL bytes found)", code="unreadable"
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        encoding = best.encoding if best else "cp1252"
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileRejected(
                f"the text encoding cannot be read: {exc}", code="unreadable"
            ) from exc


def _read_csv(head: bytes, *, complete: bool) -> FileSample:
    if not complete:
        # A sample cut mid-row would look like a malformed last row.
        head = head[: head.rfind(b"\n") + 1] or head
    text, encoding = _decode(head)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise FileRejected("the file holds only blank lines", code="empty_file")
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS)
        delimiter = dialect.delimiter
    except csv.Error:
        first = lines[0]
        delimiter = max(DELIMITERS, key=first.count)
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise FileRejected(f"the CSV cannot be parsed: {exc}", code="unreadable") from exc
    header = [cell.strip().strip('"').strip() for cell in records[0]]
    body: list[list[str | None]] = [
        list(r) for r in records[1 : SAMPLE_ROWS + 1] if any(cell.strip() for cell in r)
    ]
    table = _text_table(None, header, body)
    options = {"encoding": encoding, "delimiter": delimiter}
    return FileSample("csv", [table], options)


def _text_table(name: str | None, header: list[str], body: list[list[str | None]]) -> Table:
    _check_header(name, header)
    width = len(header)
    columns = {
        col: [row[i] if i < len(row) else None for row in body] for i, col in enumerate(header)
    }
    frame = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    ragged = sum(1 for row in body if len(row) != width)
    details = {"ragged_rows": str(ragged)} if ragged else {}
    return Table(name, header, frame, details)


def _check_header(name: str | None, header: list[str]) -> None:
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


def _read_workbook(path: Path, head: bytes, fmt: str) -> FileSample:
    if fmt == "xls" and ENCRYPTION_INFO in head:
        raise FileRejected(
            "the workbook is password-protected; export it without a password and upload again",
            code="encrypted",
        )
    import fastexcel

    try:
        workbook = fastexcel.read_excel(path)
        tables = []
        for sheet_name in workbook.sheet_names:
            sheet = workbook.load_sheet(sheet_name, n_rows=SAMPLE_ROWS, dtypes="string")
            frame = sheet.to_polars()
            tables.append(_sheet_table(sheet_name, frame))
    except FileRejected:
        raise
    except Exception as exc:  # calamine raises its own types for every kind of damage
        if fmt == "xls" and ENCRYPTION_INFO in path.read_bytes():
            raise FileRejected(
                "the workbook is password-protected; export it without a password and upload again",
                code="encrypted",
            ) from exc
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileRejected(f"the workbook cannot be read: {reason}", code="unreadable") from exc
    return FileSample(fmt, tables)


def _sheet_table(name: str, frame: pl.DataFrame) -> Table:
    header = [str(c).strip() for c in frame.columns]
    # calamine names blank header cells __UNNAMED__n; they are no columns of ours.
    keep = [c for c in frame.columns if not str(c).startswith("__UNNAMED__")]
    frame = frame.select(keep).rename({c: str(c).strip() for c in keep})
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null())) if frame.width else frame
    _check_header(name, [h for h in header if not h.startswith("__UNNAMED__")] or [""])
    return Table(name, frame.columns, frame)


def _load_json(path: Path) -> object:
    """The parsed document; UTF-8, or the detected encoding (AEMET serves ISO-8859-15)."""
    text, _ = _decode(path.read_bytes())
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"the JSON cannot be parsed: {exc}", code="unreadable") from exc


def _read_json(path: Path) -> FileSample:
    records = _json_records(_load_json(path))
    if records is None:
        raise FileRejected(
            "the JSON holds no list of records (expected [...], an object with one list of "
            "records, or an object with one table of equal-length lists)",
            code="unreadable",
        )
    header: list[str] = []
    for record in records[:SAMPLE_ROWS]:
        header.extend(k for k in record if k not in header)
    body = [[_json_cell(r.get(col)) for col in header] for r in records[:SAMPLE_ROWS]]
    return FileSample("json", [_text_table(None, header, body)])


def _json_records(document: object) -> list[dict[str, object]] | None:
    """The rows of a JSON document, or None when it holds no table.

    Three shapes are tables: a list of records; an object with one list of
    records (``{"id": …, "values": [{…}, …]}``); an object with one object of
    equal-length lists (Open-Meteo's ``{"daily": {"time": […], …}}``). In the
    last two, the object's other fields are repeated on every row (objects as
    JSON text), so a record keeps the context it was sent with.
    """
    if isinstance(document, list):
        return document if all(isinstance(r, dict) for r in document) else None
    if not isinstance(document, dict):
        return None
    lists = [k for k, v in document.items() if isinstance(v, list)]
    columnar = [k for k, v in document.items() if _is_columnar(v)]
    shared = {k: v for k, v in document.items() if k not in lists and k not in columnar}
    if len(lists) == 1 and not columnar:
        records = document[lists[0]]
        if not all(isinstance(r, dict) for r in records):
            return None
        return [{**shared, **r} for r in records]
    if len(columnar) == 1 and not lists:
        table: dict[str, list[object]] = document[columnar[0]]
        height = len(next(iter(table.values())))
        return [{**shared, **{k: v[i] for k, v in table.items()}} for i in range(height)]
    return None


def _is_columnar(value: object) -> bool:
    """An object of lists of one length: a table stored column by column."""
    if not isinstance(value, dict) or not value:
        return False
    columns = list(value.values())
    return all(isinstance(c, list) for c in columns) and len({len(c) for c in columns}) == 1


def _json_cell(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _read_parquet(path: Path) -> FileSample:
    try:
        frame = pl.read_parquet(path, n_rows=SAMPLE_ROWS)
    except Exception as exc:  # pyarrow/polars raise several types for corrupt files
        raise FileRejected(f"the Parquet file cannot be read: {exc}", code="unreadable") from exc
    frame = frame.cast(pl.String, strict=False)
    return FileSample("parquet", [Table(None, frame.columns, frame)])


def read_frame(path: Path, options: ReadOptions, sheet: str | None) -> pl.LazyFrame:
    """The whole table of a raw file as text columns, lazily where the format allows.

    ``options`` are what landing recorded (format, encoding, delimiter); ``sheet``
    picks a workbook's sheet. Column names are trimmed and
    unquoted; cells stay text: typing is the trusted zone's job.
    """
    fmt = options.format
    if fmt == "csv":
        return _scan_csv(path, options)
    if fmt in ("xlsx", "xls"):
        import fastexcel

        workbook = fastexcel.read_excel(path)
        names = workbook.sheet_names
        chosen = next((n for n in names if sheet and n.casefold() == sheet.casefold()), names[0])
        frame = workbook.load_sheet(chosen, dtypes="string").to_polars()
        return _sheet_table(chosen, frame).frame.lazy()
    if fmt == "json":
        records = _json_records(_load_json(path)) or []
        header: list[str] = []
        for record in records:
            header.extend(k for k in record if k not in header)
        columns = {c: [_json_cell(r.get(c)) for r in records] for c in header}
        return pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String)).lazy()
    scanned = pl.scan_parquet(path)
    return scanned.select(pl.all().cast(pl.String))


def _scan_csv(path: Path, options: ReadOptions) -> pl.LazyFrame:
    if not options.utf8:
        # polars reads UTF-8 only: transcode once, in a stream, next to the spool file.
        utf8 = path.with_suffix(".utf8.csv")
        with (
            path.open(encoding=options.encoding, newline="") as src,
            utf8.open("w", newline="") as dst,
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
