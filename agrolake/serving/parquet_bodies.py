"""Parquet bodies (``application/vnd.apache.parquet``), typed as MLflow checks them.

``mlflow models serve`` reads the body with ``pd.read_parquet`` and does not cast it:
its schema enforcement takes a double column only from floating point columns, small
integers (up to 32 bits), decimals and int64 columns of 0 and 1 (MLflow 3.17.2,
``mlflow.models.utils._enforce_mlflow_datatype``). Any other type in one of the model's
columns (int64, booleans, strings, dates...) is ``INVALID_PARAMETER_VALUE``; nulls are
missing values. The pandas index columns a file may carry are not columns.

pyarrow is imported when the first Parquet body arrives (~40 MB), not before.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agrolake.serving.frames import finish
from agrolake.serving.refusals import InvalidRequest, bad, invalid

Matrix = NDArray[np.float64]


def parse(body: bytes, features: Sequence[str], *, strict: bool) -> Matrix:
    """The rows of a Parquet body as a float64 matrix (columns in ``features`` order)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(body))
    except Exception as exc:  # pyarrow raises several types for a broken file
        reason = str(exc).split("\n")[0][:150]
        raise bad(f"not a Parquet file that pandas can read ({reason})") from None
    pandas_meta = table.schema.pandas_metadata or {}
    index = {c for c in pandas_meta.get("index_columns", []) if isinstance(c, str)}
    declared = {c.get("name"): c.get("numpy_type") for c in pandas_meta.get("columns", [])}
    names = [name for name in table.column_names if name not in index]
    wanted = set(features)
    cast = {}
    for name in names:
        if name in wanted and names.count(name) == 1:  # a repeated one is refused by finish
            cast[name] = _double(table.column(name), name, declared.get(name))
    return finish(names, cast, table.num_rows, features, strict=strict, where="Parquet")


def _double(column: Any, name: str, numpy_type: str | None) -> Matrix:
    """A column as float64 if MLflow takes its type for a double, else the refusal."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):  # pandas' categorical: its values decide
        column, kind = column.cast(kind.value_type), kind.value_type
    has_nulls = column.null_count > 0
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _values(column)
    if pa.types.is_integer(kind):
        if numpy_type and numpy_type[:1] in ("I", "U") and kind.bit_width == 64:
            raise _refused(name, f"nullable {numpy_type}")  # pandas' Int64 extension type
        if kind.bit_width <= 32 or has_nulls:  # pandas turns integers with nulls to floats
            return _values(column)
        if pa.types.is_signed_integer(kind):  # MLflow lets int64 through if all are 0 or 1
            extremes = pc.min_max(column)
            if len(column) == 0 or {extremes["min"].as_py(), extremes["max"].as_py()} <= {0, 1}:
                return _values(column)
    raise _refused(name, str(kind))


def _values(column: Any) -> Matrix:
    import pyarrow as pa

    doubles = column.cast(pa.float64())
    return np.asarray(doubles.to_numpy(zero_copy_only=False), dtype=np.float64)


def _refused(name: str, kind: str) -> InvalidRequest:
    return invalid(
        f"Parquet column {name!r} is {kind}; the model takes doubles "
        "(floats, integers up to 32 bits, decimals)"
    )
