"""CSV bodies, read as ``pandas.read_csv`` reads them in ``mlflow models serve``.

MLflow parses the body with ``pd.read_csv(body, dtype={column: float64 ...})`` for the
signature's columns, so this module follows pandas' rules where they decide the answer:

* a header line names the columns (an empty name is ``Unnamed: i``, a repeated one
  gets ``.1``); blank lines are skipped;
* rows longer than the header by ``k`` fields make the first ``k`` fields the index
  (what ``df.to_csv()`` writes by default: an unnamed index column); a row longer
  than that is malformed; a shorter one is padded with missing values;
* in the model's columns a cell is a number, one of pandas' missing-value markers
  (empty, ``NA``, ``null``, ``nan``...), ``true``/``false`` (1/0) or ``inf``;
  anything else is ``BAD_REQUEST``. Other columns are dropped unread.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from agrolake.serving.frames import CastError, cast_refusal, finish
from agrolake.serving.refusals import bad

#: pandas.read_csv's default ``na_values``.
NA_TOKENS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITY = {"inf": math.inf, "infinity": math.inf}
Matrix = NDArray[np.float64]


def parse(body: bytes, features: Sequence[str], *, strict: bool) -> Matrix:
    """The rows of a CSV body as a float64 matrix (columns in ``features`` order)."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise bad(f"the body is not UTF-8 text ({exc.reason})") from None
    rows = _rows(text)
    if not rows:
        raise bad("empty CSV: send a header line with the column names, then the rows")
    header, data = rows[0], rows[1:]
    names = _names(header)
    index_width = max(len(data[0]) - len(header), 0) if data else 0
    width = len(header) + index_width
    for i, row in enumerate(data):
        if len(row) > width:
            raise bad(f"malformed CSV: row {i} has {len(row)} fields, the first one {width}")
    if _plain(text, names, header, features, data, width):
        try:
            matrix = np.array(data, dtype=np.float64)  # numpy parses the strings
        except ValueError:
            pass  # a marker, a boolean, a bad cell: the cell by cell path decides
        else:
            order = [header.index(f) for f in features]
            return np.ascontiguousarray(matrix[:, order])
    wanted = set(features)
    cast = {}
    for j, name in enumerate(names):
        if name in wanted:
            at = index_width + j
            cells = [row[at] if at < len(row) else "" for row in data]
            cast[name] = _column(cells, name, strict)
    return finish(names, cast, len(data), features, strict=strict, where="CSV")


def _rows(text: str) -> list[list[str]]:
    """The non-blank rows; an unclosed quote is malformed (pandas: EOF inside string)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise bad("malformed CSV: a quoted field is not closed") from None
        try:  # pandas reads text after a closing quote ("1"x is 1x); so does csv unstrict
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as second:
            raise bad(f"malformed CSV: {second}") from None
    return [row for row in rows if row and not (len(row) == 1 and not row[0].strip())]


def _names(header: list[str]) -> list[str]:
    """Column names as pandas makes them: ``Unnamed: i`` for empty, ``name.1`` for repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(header):
        name = raw or f"Unnamed: {i}"
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = f"{name}.{k}"
        seen.add(candidate)
        names.append(candidate)
    return names


def _plain(
    text: str,
    names: list[str],
    header: list[str],
    features: Sequence[str],
    data: list[list[str]],
    width: int,
) -> bool:
    """Exactly the model's columns, full rows, ASCII without ``_``: numpy parses the cells
    as pandas would (it also takes ``1_0`` and other digits, which pandas refuses)."""
    body = text[text.find("\n") + 1 :]
    return (
        bool(data)
        and names == header
        and width == len(features)
        and set(header) == set(features)
        and all(len(row) == width for row in data)
        and body.isascii()
        and "_" not in body
    )


def _column(cells: list[str], name: str, strict: bool) -> Matrix:
    values = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        try:
            values[i] = _number(cell, strict)
        except CastError as exc:
            raise cast_refusal(i, name, exc) from None
    return values


def _number(cell: str, strict: bool) -> float:
    """A CSV cell as pandas' C parser reads a float64 column."""
    if cell in NA_TOKENS:
        return math.nan
    token = cell.strip()
    if _DECIMAL.fullmatch(token):
        return float(token)
    lowered = token.lower()
    if lowered in ("true", "false"):
        if strict:
            raise CastError(f"{token!r} is not a number (strict mode)", strict_only=True)
        return 1.0 if lowered == "true" else 0.0
    unsigned = lowered.lstrip("+-")
    if unsigned in _INFINITY and len(lowered) - len(unsigned) <= 1:
        return -math.inf if lowered.startswith("-") else math.inf
    raise CastError(f"{cell[:40]!r} is not a number")
