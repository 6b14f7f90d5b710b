"""A declaration inferred from a sample file: ``agrolake datasets infer``.

The file is read the way landing reads it (format, encoding, delimiter, BOM,
CRLF and sheets detected by ``agrolake.readers``), then each column's text values
decide its type, as real exports write them:

* digits with a leading zero ("007", "04") are codes: text, never numbers;
* numbers with a decimal comma ("12,5", "1.234,5") are floats read with
  ``decimal: ","``; with a point and comma thousands ("1,234.5"), ``decimal: "."``;
* dates in one or two of dd/mm/yyyy, yyyy-mm-dd, dd-mm-yyyy, dd.mm.yyyy,
  yyyy/mm/dd, mm/dd/yyyy (only when a day over 12 proves it) and dd/mm/yy get
  their ``format``; workbook dates read as "2024-03-01 00:00:00" are dates;
* S/N, Sí/No, true/false are booleans; other text stays text.

A column empty in the whole sample is text and ``optional``; the key columns are
``required``. No value check is guessed: the user adds them.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from agrolake.datasets.model import Dataset, Field, Files, Table
from agrolake.errors import UsageError
from agrolake.lake.naming import normalise, snake_case
from agrolake.readers import ReaderLimits, read_frame, read_sample
from agrolake.transforms.parsers import FALSE_WORDS, NULL_MARKERS, TRUE_WORDS

SAMPLE_ROWS = 10_000
INTEGER = re.compile(r"^[+-]?[0-9]+$")
# A decimal mark, with thousands grouped by the other mark or not at all.
COMMA_DECIMAL = re.compile(r"^[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+),[0-9]+$")
POINT_DECIMAL = re.compile(r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.[0-9]+$")
EXPONENT = re.compile(r"^[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+$")
COMMA_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$")
POINT_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$")
MAX_INTEGER_DIGITS = 15  # longer digit strings are identifiers, not quantities
# Dates first in the order a Spanish export most likely means them.
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%y")
DATETIME_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M",
)  # fmt: skip
MIDNIGHT = re.compile(r"^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})[ T]00:00(?::00(?:\.0+)?)?$")
BOOLEAN_WORDS = {*TRUE_WORDS, *FALSE_WORDS}


@dataclass(frozen=True)
class Inferred:
    """The declaration, and what the sample told: its rows and columns."""

    dataset: Dataset
    rows: int
    sheet: str | None
    sheets: tuple[str, ...]


def infer_dataset(
    path: Path,
    dataset_id: str,
    *,
    key: Sequence[str] = (),
    sheet: str | None = None,
    name: str | None = None,
    limits: ReaderLimits | None = None,
) -> Inferred:
    """A declaration for files like the one at ``path`` (its landing name ``name``)."""
    sample = read_sample(path, name or path.name, limits)
    sheets = tuple(t.name for t in sample.tables if t.name)
    if sheet is not None and sample.table(sheet) is None:
        shown = ", ".join(sheets) or "none: the file has no sheets"
        raise UsageError(f"no sheet {sheet!r} in {path.name}; sheets: {shown}")
    chosen = sample.table(sheet) if sheet is not None else sample.tables[0]
    assert chosen is not None
    # A CSV polars cannot read as it is (another encoding, lone CRs) is rewritten beside
    # the file read: read it through a link in a folder of ours, not the user's.
    with tempfile.TemporaryDirectory(prefix="agrolake-infer-") as folder:
        link = Path(folder) / path.name
        link.symlink_to(path.resolve())
        frame = read_frame(link, sample.read_options, chosen.name, limits).head(SAMPLE_ROWS)
        data = frame.collect()
    columns = [c for c in data.columns if c.strip()]
    keys = _key_columns(key, columns)
    fields = _fields(data, columns, keys)
    by_source = {f.source: f.name for f in fields}
    try:
        dataset = Dataset(
            id=dataset_id,
            description=f"Inferred from {path.name}.",
            files=Files(formats=(sample.format,)),  # type: ignore[arg-type]
            tables=(
                Table(
                    sheet=chosen.name if sample.format in ("xlsx", "xls") else None,
                    fields=fields,
                    key=tuple(by_source[c] for c in keys),
                ),
            ),
        )
    except ValueError as exc:  # pydantic's ValidationError: a bad id, mostly
        reason = str(exc).splitlines()
        raise UsageError(f"cannot declare {dataset_id!r}: {' '.join(reason[1:3]).strip()}") from exc
    return Inferred(dataset, data.height, chosen.name, sheets)


def _key_columns(key: Sequence[str], columns: list[str]) -> list[str]:
    """The raw columns named by ``--key`` (as the file spells them, or snake cased)."""
    found = []
    for wanted in key:
        match = next(
            (c for c in columns if normalise(c) == normalise(wanted) or snake_case(c) == wanted),
            None,
        )
        if match is None:
            raise UsageError(f"--key {wanted!r} is not a column; columns: {', '.join(columns)}")
        found.append(match)
    return found


def _fields(data: pl.DataFrame, columns: list[str], keys: list[str]) -> tuple[Field, ...]:
    fields = []
    taken: set[str] = set()
    for column in columns:
        base = snake_case(column)
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        taken.add(name)
        values = _values(data.get_column(column))
        guess = guess_type(values)
        fields.append(
            Field(
                name=name,
                source=column.strip(),
                required=column in keys,
                optional=not values and column not in keys,
                **guess,
            )
        )
    return tuple(fields)


def _values(column: pl.Series) -> list[str]:
    """The column's distinct texts, trimmed, null markers out."""
    text = column.cast(pl.String).drop_nulls().str.strip_chars().unique()
    markers = {m.upper() for m in NULL_MARKERS}
    return [v for v in text.to_list() if v.upper() not in markers]


def guess_type(values: list[str]) -> dict[str, Any]:
    """The ``type`` (and ``decimal`` or ``format``) that reads every value."""
    if not values:
        return {"type": "string"}
    if all(v.lower() in BOOLEAN_WORDS for v in values) and len({v.lower() for v in values}) > 1:
        return {"type": "boolean"}
    number = _number(values)
    if number is not None:
        return number
    formats = _date_formats(values, DATE_FORMATS)
    if formats:
        return {"type": "date", "format": formats}
    if all(MIDNIGHT.match(v) for v in values):
        return {"type": "date"}  # workbook date cells, read as text
    formats = _date_formats(values, DATETIME_FORMATS)
    if formats:
        return {"type": "datetime", "format": formats}
    return {"type": "string"}


def _number(values: list[str]) -> dict[str, Any] | None:
    if all(INTEGER.match(v) for v in values):
        digits = [v.lstrip("+-") for v in values]
        if any(len(d) > 1 and d.startswith("0") for d in digits):
            return None  # a code with leading zeros: "007" must stay "007"
        if any(len(d) > MAX_INTEGER_DIGITS for d in digits):
            return None
        return {"type": "integer"}
    kinds = []
    for value in values:
        if INTEGER.match(value):
            kinds.append("int")
        elif COMMA_DECIMAL.match(value) or POINT_THOUSANDS.match(value):
            kinds.append("comma")
        elif POINT_DECIMAL.match(value) or COMMA_THOUSANDS.match(value):
            kinds.append("point")
        elif EXPONENT.match(value):
            kinds.append("exponent")
        else:
            return None
    if "comma" in kinds and "point" in kinds:
        return None  # two conventions in one column: leave it as text
    if "comma" in kinds:
        return {"type": "float", "decimal": ","}
    if any(COMMA_THOUSANDS.match(v) for v in values):
        return {"type": "float", "decimal": "."}
    return {"type": "float"}


def _date_formats(values: list[str], formats: Sequence[str]) -> tuple[str, ...]:
    """One format that reads every value, else two that do between them; else none."""
    parsed = {f: {v for v in values if _parses(v, f)} for f in formats}
    whole = [f for f in formats if len(parsed[f]) == len(values)]
    if whole:
        return (whole[0],)
    for first in formats:
        for second in formats:
            if first != second and len(parsed[first] | parsed[second]) == len(values):
                return (first, second)
    return ()


def _parses(value: str, fmt: str) -> bool:
    try:
        parsed = datetime.strptime(value, fmt)
    except ValueError:
        return False
    # Two-digit years only as two digits: "%d/%m/%y" must not read "01/03/2024".
    return not (fmt.endswith("%y") and len(value.rsplit("/", 1)[-1]) != 2) and parsed.year > 1000


def declaration_text(inferred: Inferred, source_file: str) -> str:
    """The declaration as a YAML file, with a header saying what to check next."""
    from agrolake.datasets.declarations import to_yaml

    others = [s for s in inferred.sheets if s != inferred.sheet]
    header = [
        f"# Dataset {inferred.dataset.id}, inferred by `agrolake datasets infer` from "
        f"{source_file} ({inferred.rows} rows read).",
        "# Check each field's type; add value checks (checks: min, max, allowed, pattern),",
        "# a name_pattern under files, or personal: true; then `agrolake rebuild` applies it.",
        "# The format: docs/datasets.md and docs/dataset-declaration.schema.json.",
    ]
    if others:
        header.append(f"# Other sheets of the sample, not declared here: {', '.join(others)}.")
    return to_yaml(inferred.dataset, "\n".join(header))
