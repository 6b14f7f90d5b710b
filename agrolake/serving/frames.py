"""From a request's columns to the model's matrix, checked as MLflow checks a signature.

Every format (JSON, CSV, Parquet) reads its body into named columns, casting the
columns the model takes to float64 on the way (a value that cannot be cast is
``BAD_REQUEST``, as in MLflow's parsing). :func:`finish` then does what MLflow's
schema enforcement does for a signature of double columns: a repeated or missing
column, or a column of arrays, is ``INVALID_PARAMETER_VALUE``; other columns are
dropped (refused in strict mode); no rows is ``BAD_REQUEST`` (the model refuses to
score nothing). Missing values stay NaN for the model to refuse.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agrolake.serving.refusals import InvalidRequest, bad, invalid

_NUMBER = (int, float)


def json_kind(value: Any) -> str:
    """A value's JSON type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBER):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class CastError(Exception):
    """A value that cannot become a double; the message says what it was.

    ``strict_only``: MLflow would have cast it; only strict mode refuses it.
    """

    def __init__(self, what: str, *, strict_only: bool = False) -> None:
        super().__init__(what)
        self.strict_only = strict_only


def cast_value(value: Any, *, strict: bool) -> float:
    """One JSON value as a double, as pandas' ``astype(float64)`` casts it in MLflow:
    numbers, booleans (1/0) and numeric strings (Python's ``float``); ``null`` is NaN.

    Raises :class:`CastError` otherwise (strict: for strings and booleans too).
    """
    kind = type(value)
    if kind is float or kind is int:
        try:
            return float(value)
        except OverflowError:
            raise CastError(f"{str(value)[:20]}… is beyond a double's range") from None
    if value is None:
        return math.nan
    if strict and kind in (bool, str):
        shown = repr(value)[:40] if kind is str else json.dumps(value)
        raise CastError(f"{shown} is not a JSON number (strict mode)", strict_only=True)
    if kind is bool:
        return 1.0 if value else 0.0
    if kind is str:
        try:
            return float(value)
        except ValueError:
            raise CastError(f"{value[:40]!r} is not a number") from None
    raise CastError(f"a JSON {json_kind(value)} is not a number")


def cast_column(cells: Sequence[Any], name: str, *, strict: bool) -> NDArray[np.float64]:
    """A column of JSON values as float64 (``BAD_REQUEST`` naming the first bad cell)."""
    if all(type(c) is float or type(c) is int for c in cells):
        try:
            return np.array(cells, dtype=np.float64)
        except OverflowError:
            pass  # an integer beyond a double: the loop below names it
    values = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        try:
            values[i] = cast_value(cell, strict=strict)
        except CastError as exc:
            raise cast_refusal(i, name, exc) from None
    return values


def cast_refusal(row: int, name: str, error: CastError) -> InvalidRequest:
    """The refusal of a value: ``BAD_REQUEST`` as MLflow's cast; strict-only refusals are
    ``INVALID_PARAMETER_VALUE`` (the value does not fit the signature as given)."""
    message = f"row {row}, column {name!r}: {error}"
    return invalid(message) if error.strict_only else bad(message)


def finish(
    names: Sequence[Any],
    columns: Mapping[str, NDArray[np.float64]],
    rows: int,
    features: Sequence[str],
    *,
    strict: bool,
    where: str,
) -> NDArray[np.float64]:
    """The ``(rows, len(features))`` matrix from the cast ``columns`` (keyed by feature name).

    ``names`` are every column the request gave, in its order (repeats included).
    """
    wanted = set(features)
    given = [n for n in names if isinstance(n, str) and n in wanted]
    if len(given) != len(set(given)):
        repeated = sorted({n for n in given if given.count(n) > 1})
        raise invalid(f"{where}: repeated columns: {', '.join(map(repr, repeated))}")
    if strict and (extra := [n for n in names if not (isinstance(n, str) and n in wanted)]):
        shown = ", ".join(repr(n)[:40] for n in extra[:5])
        raise invalid(f"{where}: unexpected columns: {shown} (strict mode refuses them)")
    if missing := [f for f in features if f not in columns]:
        raise invalid(
            f"{where}: missing columns: {', '.join(map(repr, missing[:5]))}"
            f"{' and more' if len(missing) > 5 else ''} (the model takes {len(features)}: "
            f"{', '.join(features)})"
        )
    for name in features:
        if columns[name].ndim != 1:
            raise invalid(f"{where}: column {name!r} holds arrays; the model takes one number")
    if rows == 0:
        raise bad(f"{where}: no rows to score")
    matrix = np.empty((rows, len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        matrix[:, j] = columns[name]
    return matrix


def unnamed(where: str, features: Sequence[str]) -> InvalidRequest:
    """Rows without column names: MLflow cannot match them to a named signature."""
    return invalid(
        f"{where}: the values do not name their columns; the model takes named columns "
        f"({len(features)}: {', '.join(features)})"
    )
