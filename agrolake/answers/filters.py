"""Rows of a table that match given values, filtered while scanning: batch by batch,
never the whole table in memory."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads


def matching(
    dataset: pads.Dataset, among: dict[str, list[int]] | None = None, **equal: str | None
) -> pa.Table:
    """The rows whose columns equal the given values (None: any value) and, for the
    columns of ``among``, hold one of the listed values: on a partition column
    (``year``) the files of other partitions are not even opened.

    The column is cast to its table type first: files written from polars frames
    hold ``string_view`` columns where the table says ``string``, and Arrow compares
    neither with the other's scalar."""
    where = None
    for column, value in equal.items():
        if value is None:
            continue
        kind = dataset.schema.field(column).type
        condition = pc.field(column).cast(kind) == pa.scalar(value, type=kind)
        where = condition if where is None else where & condition
    for column, values in (among or {}).items():
        kind = dataset.schema.field(column).type
        condition = pc.field(column).isin(pa.array(values, type=kind))
        where = condition if where is None else where & condition
    return dataset.to_table(filter=where)
