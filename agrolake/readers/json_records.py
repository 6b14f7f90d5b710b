"""JSON files: a list of records, or one table in an object (Open-Meteo, the NDVI service).

A document is parsed whole (about 7 times its size in memory), so its size is
checked first; nesting is bounded by the parser itself (``json_too_deep``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.readers.delimited import SAMPLE_ROWS, check_shape
from agrolake.readers.file_sample import FileSample, text_table
from agrolake.readers.reader_limits import ReaderLimits, over_limit
from agrolake.readers.text_profile import guess_encoding


def read_json_sample(path: Path, limits: ReaderLimits) -> FileSample:
    """The columns and first records of a JSON file (parsed whole)."""
    records = _records(path, limits)
    header = _header(records[:SAMPLE_ROWS])
    check_shape(len(_header(records)), len(records), limits)
    body = [[_json_cell(r.get(col)) for col in header] for r in records[:SAMPLE_ROWS]]
    return FileSample("json", [text_table(None, header, body)])


def read_json_frame(path: Path, limits: ReaderLimits) -> pl.LazyFrame:
    """Every record of a JSON file as text columns."""
    records = _records(path, limits)
    header = _header(records)
    columns = {c: [_json_cell(r.get(c)) for r in records] for c in header}
    return pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String)).lazy()


def _header(records: list[dict[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    return list(seen)


def _records(path: Path, limits: ReaderLimits) -> list[dict[str, object]]:
    records = _json_records(load_json(path, limits))
    if records is None:
        raise FileRejected(
            "the JSON holds no list of records (expected [...], an object with one list of "
            "records, or an object with one table of equal-length lists)",
            code="unreadable",
        )
    return records


def load_json(path: Path, limits: ReaderLimits) -> object:
    """The parsed document; UTF-8, or the detected encoding (AEMET serves ISO-8859-15)."""
    size = path.stat().st_size
    if size > limits.bytes_of("max_json_mb"):
        raise over_limit(
            "json_too_large",
            f"the JSON file is {size / 1e6:,.1f} MB",
            "max_json_mb",
            f"{limits.max_json_mb:g} MB",
            size=size,
        )
    data = path.read_bytes()
    encoding = guess_encoding(data, complete=True)
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise FileRejected(f"the text encoding cannot be read: {exc}", code="unreadable") from exc
    del data
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"the JSON cannot be parsed: {exc}", code="unreadable") from exc
    except RecursionError as exc:  # the parser's own bound on nesting, raised cleanly
        raise _too_deep() from exc


def _too_deep() -> FileRejected:
    return FileRejected(
        "the JSON nests arrays or objects deeper than the parser goes (about "
        f"{sys.getrecursionlimit():,} levels); table data nests a few levels at most",
        code="json_too_deep",
    )


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
    try:
        return json.dumps(value)
    except RecursionError as exc:  # parsed near the parser's bound, deeper still here
        raise _too_deep() from exc
