"""JSON bodies: ``dataframe_split``, ``dataframe_records``, ``instances`` and ``inputs``.

Each shape is read the way ``mlflow models serve`` reads it for a model with a column
signature (``mlflow/pyfunc/scoring_server`` and ``mlflow/utils/proto_json_utils``,
MLflow 3.17.2): the split and records shapes become a pandas frame and are cast
column by column; ``instances`` and ``inputs`` are cast value by value into arrays
(``instances`` also insists that its records name the same columns), and MLflow's
schema enforcement then builds the frame. The branches below follow those paths so
that a request gets MLflow's status and ``error_code``; ``tests/serving/test_parity.py``
sends each case to both servers.

A body whose values are all JSON numbers in exactly the model's columns takes a fast
path straight into a matrix; everything else goes column by column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agrolake.serving.frames import (
    CastError,
    cast_column,
    cast_refusal,
    cast_value,
    finish,
    json_kind,
    unnamed,
)
from agrolake.serving.refusals import bad, invalid

try:  # 6x faster than the json module on a 1,000-row body; optional
    import orjson
except ImportError:  # pragma: no cover - orjson comes with prefect
    orjson = None  # type: ignore[assignment]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
#: Keys of MLflow's "unified LLM" bodies, which it passes to the model as they are.
LLM_KEYS = ("messages", "prompt", "input")
_SPLIT_KEYS = {"columns", "data", "index"}
Matrix = NDArray[np.float64]


def parse(body: bytes, features: Sequence[str], *, strict: bool) -> Matrix:
    """The rows of a JSON body as a float64 matrix (columns in ``features`` order)."""
    if not body.strip():
        raise bad(f"empty body: send a JSON object with one of {', '.join(FORMATS)}")
    document = _decode(body)
    if not isinstance(document, dict):
        raise bad(
            f"the body must be a JSON object with exactly one of {', '.join(FORMATS)}; "
            f"got a JSON {json_kind(document)}"
        )
    if llm := [key for key in LLM_KEYS if key in document]:
        raise invalid(
            f"unified LLM input ({llm[0]!r}) does not fit this model: it takes a table "
            f"(one of {', '.join(FORMATS)})"
        )
    present = [key for key in FORMATS if key in document]
    if len(present) != 1:
        found = ", ".join(present) if present else "none of them"
        raise bad(f"the body must have exactly one of {', '.join(FORMATS)}; found {found}")
    [key] = present
    value = document[key]  # "params" and other keys are ignored, as MLflow does
    if key == "dataframe_split":
        return _split(value, features, strict)
    if key == "dataframe_records":
        return _records(value, features, strict)
    return _tensor_input(key, value, features, strict)


def _decode(body: bytes) -> Any:
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # MLflow's json.loads also reads NaN, huge integers, UTF-16: try it
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise bad(f"the body is not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise bad(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:  # e.g. nesting too deep
        raise bad(f"malformed JSON: {type(exc).__name__}") from None


def _numbers(cells: Sequence[Any]) -> bool:
    return all(type(c) is float or type(c) is int for c in cells)


def _split(value: Any, features: Sequence[str], strict: bool) -> Matrix:
    where = "dataframe_split"
    if not isinstance(value, dict):
        raise bad(f"{where} must be an object with data (and columns, index); got a JSON array")
    if "data" not in value or set(value) - _SPLIT_KEYS:
        raise bad(f"{where} takes data, and optionally columns and index; got {sorted(value)}")
    columns, data, index = value.get("columns"), value["data"], value.get("index")
    if columns is not None and not isinstance(columns, list):
        raise bad(f"{where} columns must be a list of names, got a JSON {json_kind(columns)}")
    if not isinstance(data, list):
        raise bad(f"{where} data must be a list of rows, got a JSON {json_kind(data)}")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        size = len(index) if isinstance(index, list) else "no list"
        raise bad(f"{where}: {len(data)} rows but an index of {size}")
    if columns is None:
        if data and all(isinstance(row, dict) for row in data):
            return _from_records(data, features, strict, where)  # pandas reads them as records
        raise unnamed(where, features)
    width = len(columns)
    for i, row in enumerate(data):
        if type(row) is not list:
            raise bad(f"{where} row {i}: expected a list of values, got a JSON {json_kind(row)}")
    longest = max((len(row) for row in data), default=width)
    if longest != width:
        raise bad(f"{where}: {width} columns but rows of {longest} values")
    if (fast := _fast_split(columns, data, features)) is not None:
        return fast
    wanted = set(features)
    cast = {}
    for j, name in enumerate(columns):
        if isinstance(name, str) and name in wanted:
            cells = [row[j] if j < len(row) else None for row in data]  # pandas pads with NaN
            cast[name] = cast_column(cells, name, strict=strict)
    return finish(columns, cast, len(data), features, strict=strict, where=where)


def _fast_split(
    columns: list[Any], data: list[list[Any]], features: Sequence[str]
) -> Matrix | None:
    """The matrix when the columns are exactly the model's and every value a JSON number."""
    if not data or len(columns) != len(features):
        return None
    if not all(isinstance(name, str) for name in columns) or set(columns) != set(features):
        return None
    if not all(len(row) == len(columns) and _numbers(row) for row in data):
        return None
    try:
        matrix = np.array(data, dtype=np.float64)
    except OverflowError:
        return None  # an integer beyond a double: the column by column path names it
    order = [columns.index(f) for f in features]
    return matrix if order == list(range(len(order))) else np.ascontiguousarray(matrix[:, order])


def _records(value: Any, features: Sequence[str], strict: bool) -> Matrix:
    where = "dataframe_records"
    if not isinstance(value, list):
        raise bad(f"{where} must be a list of objects, got a JSON {json_kind(value)}")
    if not value:
        raise invalid(f"{where}: no records, so no columns (the model takes {len(features)})")
    objects = [isinstance(record, dict) for record in value]
    if not any(objects):
        raise unnamed(where, features)
    if not all(objects):
        i = objects.index(False)
        raise bad(f"{where} record {i}: expected an object, got a JSON {json_kind(value[i])}")
    return _from_records(value, features, strict, where)


def _fast_records(records: list[dict[str, Any]], features: Sequence[str]) -> Matrix | None:
    """The matrix when every record has exactly the model's columns, all JSON numbers."""
    wanted = set(features)
    if not all(len(r) == len(wanted) and wanted.issuperset(r) for r in records):
        return None
    rows = [[r[f] for f in features] for r in records]
    if not all(_numbers(row) for row in rows):
        return None
    try:
        return np.array(rows, dtype=np.float64)
    except OverflowError:
        return None  # an integer beyond a double: the column by column path names it


def _from_records(records: list[dict[str, Any]], features: Sequence[str], strict: bool,
                  where: str) -> Matrix:  # fmt: skip
    if (fast := _fast_records(records, features)) is not None:
        return fast
    wanted = set(features)
    names = list(dict.fromkeys(key for record in records for key in record))
    cast = {
        name: cast_column([r.get(name) for r in records], name, strict=strict)
        for name in names
        if name in wanted
    }
    return finish(names, cast, len(records), features, strict=strict, where=where)


def _tensor_input(key: str, value: Any, features: Sequence[str], strict: bool) -> Matrix:
    """``instances`` or ``inputs``: an object of columns, records, or plain values."""
    if isinstance(value, dict):
        return _columns(value, features, strict, key)
    if isinstance(value, list) and key == "instances" and value and isinstance(value[0], dict):
        for i, record in enumerate(value):
            if not isinstance(record, dict):
                raise bad(f"instances record {i}: expected an object, got a JSON array")
        return _instances(value, features, strict)
    if isinstance(value, list) and key == "inputs" and all(isinstance(v, dict) for v in value):
        if not value:
            raise invalid(f"inputs: no records, so no columns (the model takes {len(features)})")
        return _inputs_records(value, features, strict)
    # Plain rows or one value: MLflow makes an array of them, which names no column.
    _array(value, key, key)
    raise unnamed(key, features)


def _array(cells: Any, name: str, where: str) -> NDArray[np.float64]:
    """Values (nested lists too) as a float64 array, as numpy casts them in MLflow."""
    try:
        return np.array(cells, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        reason = str(exc).split("\n")[0][:120]
        raise bad(f"{where}: cannot cast the values of {name!r} to doubles ({reason})") from None


def _cells(cells: list[Any], name: str, strict: bool, where: str) -> NDArray[np.float64]:
    """A column whose cells may be lists (arrays per row: refused later, as by MLflow)."""
    if any(isinstance(cell, list) for cell in cells):
        return _array(cells, name, where)
    return cast_column(cells, name, strict=strict)


def _instances(records: list[dict[str, Any]], features: Sequence[str], strict: bool) -> Matrix:
    where = "instances"
    if (fast := _fast_records(records, features)) is not None:
        return fast
    wanted = set(features)
    gathered: dict[str, list[Any]] = {}
    for record in records:
        for name, cell in record.items():
            gathered.setdefault(name, []).append(cell)
    cast = {n: _cells(c, n, strict, where) for n, c in gathered.items() if n in wanted}
    if len({len(column) for column in cast.values()}) > 1:
        raise bad(f"{where}: the records do not all name the same columns")
    lengths = {len(column) for column in gathered.values()}
    if len(lengths) > 1:
        raise invalid(f"{where}: some columns are in some records only")
    # MLflow gathers the records' values column by column: an empty record adds no row.
    rows = lengths.pop() if lengths else len(records)
    return finish(list(gathered), cast, rows, features, strict=strict, where=where)


def _inputs_records(records: list[dict[str, Any]], features: Sequence[str], strict: bool) -> Matrix:
    names = list(dict.fromkeys(key for record in records for key in record))
    cast = {
        name: _cells([r.get(name) for r in records], name, strict, "inputs")
        for name in names
        if name in set(features)
    }
    return finish(names, cast, len(records), features, strict=strict, where="inputs")


def _columns(value: dict[str, Any], features: Sequence[str], strict: bool, where: str) -> Matrix:
    """An object of columns: lists (one value per row) or single values (broadcast)."""
    wanted = set(features)
    cast: dict[str, NDArray[np.float64]] = {}
    single: dict[str, float] = {}
    for name, cells in value.items():
        if name not in wanted:
            continue
        if isinstance(cells, list):
            cast[name] = _cells(cells, name, strict, where)
        else:
            try:
                single[name] = cast_value(cells, strict=strict)
            except CastError as exc:
                raise cast_refusal(0, name, exc) from None
    if where == "instances" and len({len(column) for column in cast.values()}) > 1:
        raise bad(f"{where}: the columns have different numbers of values")
    if any(column.ndim != 1 for column in cast.values()):
        return finish(list(value), cast, 1, features, strict=strict, where=where)
    if not cast and len(single) == len(value):
        rows = 1  # every value single: one row, as MLflow reads {column: value}
    else:
        lengths = {len(cells) for cells in value.values() if isinstance(cells, list)}
        if len(lengths) != 1:
            problem = "different numbers of values" if lengths else "no list of values"
            raise invalid(f"{where}: the columns have {problem}")
        [rows] = lengths
    for name, number in single.items():
        cast[name] = np.full(rows, number)
    return finish(list(value), cast, rows, features, strict=strict, where=where)
