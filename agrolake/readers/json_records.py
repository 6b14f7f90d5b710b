"""JSON files: a list of records, or one table in an object (Open-Meteo, the NDVI service).

A document is parsed whole (about 7 times its size in memory), so its size and
nesting are checked first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from agrolake.errors import FileRejected
from agrolake.readers.delimited import SAMPLE_ROWS, check_shape
from agrolake.readers.file_sample import FileSample, text_table
from agrolake.readers.reader_limits import ReaderLimits, over_limit
from agrolake.readers.text_profile import guess_encoding

#: A JSON string, escapes included: brackets inside strings are no nesting.
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
INNERMOST = re.compile(r"\[\]|\{\}")
ASCII_NOT_BRACKETS = dict.fromkeys(c for c in range(128) if chr(c) not in "[]{}")


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
    _check_depth(text, limits)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileRejected(f"the JSON cannot be parsed: {exc}", code="unreadable") from exc
    except RecursionError as exc:  # deeper than Python parses, hidden by brackets in strings
        raise _too_deep(limits) from exc


def _check_depth(text: str, limits: ReaderLimits) -> None:
    """Nesting within the limit, found without parsing: the brackets alone, their
    innermost pairs removed level by level. Brackets inside strings are counted
    first (a quick pass); a text that does not pass so is looked at without them."""
    if text.count("[") + text.count("{") <= limits.max_json_depth:
        return  # cannot nest deeper than it has brackets
    quick = _depth_left(NOT_A_BRACKET.sub("", text.translate(ASCII_NOT_BRACKETS)), limits)
    if quick == "":
        return
    exact = _depth_left(NOT_A_BRACKET.sub("", JSON_STRING.sub("", text)), limits)
    if exact and INNERMOST.search(exact):
        raise _too_deep(limits)
    # Within the limit, or unbalanced brackets: the parser says why.


def _depth_left(brackets: str, limits: ReaderLimits) -> str:
    """The brackets left after removing ``max_json_depth`` levels of matched pairs."""
    for _ in range(limits.max_json_depth):
        brackets, removed = INNERMOST.subn("", brackets)
        if not removed:
            break
    return brackets


def _too_deep(limits: ReaderLimits) -> FileRejected:
    return over_limit(
        "json_too_deep",
        f"the JSON nests arrays or objects more than {limits.max_json_depth} deep",
        "max_json_depth",
        f"{limits.max_json_depth} levels",
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
    return json.dumps(value)
