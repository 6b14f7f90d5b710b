"""MLflow's scoring protocol: request bodies in, a float matrix out; predictions back to JSON.

What ``POST /invocations`` of ``mlflow models serve`` accepts (MLflow 3.17.2,
``mlflow/pyfunc/scoring_server``), for a model whose signature is a list of named
numeric columns:

* ``application/json`` with exactly one of
  ``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`` (``index`` allowed
  and ignored), ``{"dataframe_records": [{column: value, ...}, ...]}``,
  ``{"instances": [{...}, ...]}`` (records, or an object of columns) and
  ``{"inputs": {column: [values] | value, ...}}`` (an object of columns, or records).
  ``params`` and other top-level keys are ignored, as MLflow ignores them for a model
  without parameters. Charset, if given, must be UTF-8.
* ``text/csv``: a header row with the column names, then one row per record.

Validation is stricter than MLflow's in four ways, each answered with a 4xx and one
line of JSON (``{"error_code": ..., "message": ...}``) instead of a guess: extra
columns are refused (MLflow drops them silently), values must be JSON numbers
(MLflow also casts ``"3.3"`` and ``true``), missing values (``null``, ``NaN``, empty
CSV cells) are refused up front (MLflow lets the model fail on them), and values
beyond the float32 range of the ONNX model are refused. Column order is free.

This module imports only the standard library, numpy and (if installed) orjson, which
parses JSON bodies ~6x faster than the ``json`` module; without it the ``json``
module does, with the same results (NaN/Infinity literals and a nesting over 1,024
levels are malformed JSON either way, as is anything but UTF-8).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:  # 6x faster than the json module on a 1,000-row body; optional
    import orjson
except ImportError:  # pragma: no cover - orjson comes with prefect
    orjson = None  # type: ignore[assignment]

JSON = "application/json"
CSV = "text/csv"
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
FLOAT32_MAX = float(np.finfo(np.float32).max)
_MESSAGE_LIMIT = 300  # characters of a message; the rest is cut
_NUMBER = (int, float)


class InvalidRequest(Exception):
    """A request the server refuses: HTTP ``status``, MLflow-style ``error_code``, one line."""

    def __init__(
        self, message: str, *, status: int = 400, error_code: str = "INVALID_PARAMETER_VALUE"
    ) -> None:
        message = " ".join(message.split())
        if len(message) > _MESSAGE_LIMIT:
            message = message[: _MESSAGE_LIMIT - 1] + "…"
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code

    def body(self) -> bytes:
        return json.dumps({"error_code": self.error_code, "message": self.message}).encode()


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, error_code="BAD_REQUEST")


def _malformed(message: str) -> InvalidRequest:
    return InvalidRequest(message, error_code="MALFORMED_REQUEST")


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header (``application/json`` or ``text/csv``), or 415."""
    if not content_type or not content_type.strip():
        raise InvalidRequest(
            "missing Content-Type: send application/json or text/csv",
            status=415,
            error_code="BAD_REQUEST",
        )
    mime, *parameters = (part.strip() for part in content_type.split(";"))
    mime = mime.lower()
    if mime not in (JSON, CSV):
        raise InvalidRequest(
            f"unsupported Content-Type {content_type!r}: send application/json or text/csv",
            status=415,
            error_code="BAD_REQUEST",
        )
    for parameter in parameters:
        if not parameter:
            continue
        key, _, value = parameter.partition("=")
        key, value = key.strip().lower(), value.strip().strip('"').lower()
        if key != "charset":
            raise InvalidRequest(
                f"unsupported Content-Type parameter {key!r}: only charset=utf-8 is accepted",
                status=415,
                error_code="BAD_REQUEST",
            )
        if value not in ("utf-8", "utf8"):
            raise InvalidRequest(
                f"unsupported charset {value!r}: the server reads UTF-8 only",
                status=415,
                error_code="BAD_REQUEST",
            )
    return mime


def parse(body: bytes, content_type: str | None, features: Sequence[str]) -> NDArray[np.float64]:
    """The rows of a request as a float64 matrix, columns in the order of ``features``."""
    mime = media_type(content_type)
    if not body.strip():
        raise _bad("empty body: send a JSON object or a CSV table with a header")
    if mime == CSV:
        return _from_csv(body, features)
    return _from_json(_decode_json(body), features)


def _reject_constant(name: str) -> Any:
    raise _malformed(f"malformed JSON: {name} is not JSON")  # as orjson says it


def _decode_json(body: bytes) -> Any:
    body = body.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _malformed(f"malformed JSON: {exc}") from None
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except InvalidRequest:
        raise
    except UnicodeDecodeError as exc:
        raise _malformed(f"the body is not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise _malformed(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting too deep, huge integer literal
        raise _malformed(f"malformed JSON: {type(exc).__name__}") from None


def _from_json(document: Any, features: Sequence[str]) -> NDArray[np.float64]:
    if not isinstance(document, dict):
        raise _bad(
            f"the body must be a JSON object with one of {', '.join(FORMATS)}; "
            f"got a JSON {_json_type(document)}"
        )
    present = [key for key in FORMATS if key in document]
    if len(present) != 1:
        found = ", ".join(present) if present else "none of them"
        raise _bad(f"the body must have exactly one of {', '.join(FORMATS)}; found {found}")
    [key] = present
    value = document[key]
    if key == "dataframe_split":
        return _from_split(value, features)
    if key == "dataframe_records":
        if not isinstance(value, list):
            raise _bad(
                f"dataframe_records must be a list of objects, got a JSON {_json_type(value)}"
            )
        return _from_records(value, features, key)
    # instances / inputs: records, or an object of columns.
    if isinstance(value, list):
        if value and not isinstance(value[0], dict):
            raise _bad(
                f"{key} must be a list of objects (records with the column names) "
                "or an object of columns; a list of plain rows does not name its columns"
            )
        return _from_records(value, features, key)
    if isinstance(value, dict):
        return _from_columns(value, features, key, scalars=key == "inputs")
    raise _bad(f"{key} must be a list of records or an object of columns")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBER):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _check_columns(columns: Sequence[Any], features: Sequence[str], where: str) -> list[int]:
    """Positions of ``features`` within ``columns``; 400 on missing, extra or repeated names."""
    if not all(isinstance(c, str) for c in columns):
        raise InvalidRequest(f"{where}: column names must be strings")
    if len(set(columns)) != len(columns):
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        raise InvalidRequest(f"{where}: repeated columns: {', '.join(map(repr, repeated))}")
    wanted = set(features)
    missing = [f for f in features if f not in set(columns)]
    extra = [c for c in columns if c not in wanted]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"unexpected columns: {', '.join(map(repr, extra))}")
        raise InvalidRequest(f"{where}: {'; '.join(parts)} (the model takes {len(features)})")
    position = {c: i for i, c in enumerate(columns)}
    return [position[f] for f in features]


def _from_split(value: Any, features: Sequence[str]) -> NDArray[np.float64]:
    if not isinstance(value, dict):
        raise _bad(f"dataframe_split must be an object, got a JSON {_json_type(value)}")
    if extra := set(value) - {"columns", "data", "index"}:
        raise _bad(f"dataframe_split takes columns, data and index; unexpected {sorted(extra)}")
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list):
        raise _bad("dataframe_split needs 'columns', a list of the column names")
    if not isinstance(data, list):
        raise _bad("dataframe_split needs 'data', a list of rows")
    order = _check_columns(columns, features, "dataframe_split")
    width = len(columns)
    for i, row in enumerate(data):
        if type(row) is not list or len(row) != width:
            raise InvalidRequest(f"dataframe_split row {i}: expected a list of {width} values")
        for j, cell in enumerate(row):
            if type(cell) not in _NUMBER:
                raise _wrong_type(i, columns[j], cell)
    return _finish(data, order)


def _from_records(records: list[Any], features: Sequence[str], where: str) -> NDArray[np.float64]:
    if not records:
        raise InvalidRequest(f"{where}: no rows to score")
    wanted = set(features)
    rows: list[list[Any]] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _bad(f"{where} record {i}: expected an object, got a JSON {_json_type(record)}")
        if len(record) != len(wanted) or not wanted.issuperset(record):
            _check_columns(list(record), features, f"{where} record {i}")
        row = [record[f] for f in features]
        for name, cell in zip(features, row, strict=True):
            if type(cell) not in _NUMBER:
                raise _wrong_type(i, name, cell)
        rows.append(row)
    return _finish(rows, None)


def _from_columns(
    columns: dict[str, Any], features: Sequence[str], where: str, *, scalars: bool
) -> NDArray[np.float64]:
    _check_columns(list(columns), features, where)
    values = [columns[f] for f in features]
    if scalars and all(type(v) in _NUMBER for v in values):
        values = [[v] for v in values]  # one row given as {column: value}
    if not all(isinstance(v, list) for v in values):
        raise _bad(f"{where}: every column must be a list of values")
    lengths = {len(v) for v in values}
    if len(lengths) != 1:
        raise InvalidRequest(f"{where}: columns have different lengths {sorted(lengths)}")
    for name, column in zip(features, values, strict=True):
        for i, cell in enumerate(column):
            if type(cell) not in _NUMBER:
                raise _wrong_type(i, name, cell)
    if not values[0]:
        raise InvalidRequest(f"{where}: no rows to score")
    return _finish(values, None, transpose=True)


def _wrong_type(row: int, column: str, value: Any) -> InvalidRequest:
    kind = _json_type(value)
    if value is None:
        return InvalidRequest(f"row {row}, column {column!r}: missing value (null)")
    return InvalidRequest(f"row {row}, column {column!r}: expected a number, got a JSON {kind}")


def _finish(
    rows: list[Any], order: list[int] | None, *, transpose: bool = False
) -> NDArray[np.float64]:
    if not rows:
        raise InvalidRequest("no rows to score")
    try:
        matrix = np.array(rows, dtype=np.float64)
    except OverflowError:
        raise InvalidRequest("a value is too large for a float") from None
    if transpose:
        matrix = matrix.T
    if order is not None and order != list(range(len(order))):
        matrix = matrix[:, order]
    return _check_range(np.ascontiguousarray(matrix))


def _check_range(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    if matrix.size and not np.all(np.abs(matrix) <= FLOAT32_MAX):  # False for NaN too
        bad = np.argwhere(~(np.abs(matrix) <= FLOAT32_MAX))[0]
        raise InvalidRequest(
            f"row {int(bad[0])}: value {float(matrix[tuple(bad)])!r} is missing or out of range "
            f"(|x| ≤ {FLOAT32_MAX:.3g})"
        )
    return matrix


def _from_csv(body: bytes, features: Sequence[str]) -> NDArray[np.float64]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the body is not UTF-8 text ({exc.reason})") from None
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise _bad("CSV: the first line must be the header with the column names")
        order = _check_columns(header, features, "CSV header")
        rows = [line for line in reader if line]  # blank lines skipped
    except csv.Error as exc:
        raise _malformed(f"malformed CSV: {exc}") from None
    if not rows:
        raise InvalidRequest("CSV: no rows to score (only a header)")
    width = len(header)
    for i, line in enumerate(rows):
        if len(line) != width:
            raise InvalidRequest(f"CSV row {i}: {len(line)} values for {width} columns")
    try:
        matrix = np.array(rows, dtype=np.float64)  # numpy parses the strings
    except ValueError:
        for i, line in enumerate(rows):  # find the cell, for the message
            for j, cell in enumerate(line):
                _csv_number(cell, i, header[j])
        raise InvalidRequest("CSV: a value is not a number") from None
    return _check_range(np.ascontiguousarray(matrix[:, order]))


def _csv_number(cell: str, row: int, column: str) -> None:
    try:
        np.float64(cell)
    except ValueError:
        if not cell.strip():
            raise InvalidRequest(f"CSV row {row}, column {column!r}: missing value") from None
        raise InvalidRequest(
            f"CSV row {row}, column {column!r}: {cell[:40]!r} is not a number"
        ) from None


def predictions_body(predictions: list[Any]) -> bytes:
    """``{"predictions": [...]}``, the shape MLflow answers with."""
    if orjson is not None:
        return orjson.dumps({"predictions": predictions})
    return json.dumps({"predictions": predictions}, allow_nan=False).encode()
