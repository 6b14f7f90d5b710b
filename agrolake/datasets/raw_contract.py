"""The raw contract a declaration implies: the columns each table's file must have.

Structural only (parses, recognised, required columns, at least one data row):
value and type checks belong to the trusted zone, where a bad row is quarantined
instead of rejecting its file. A table's required raw columns are the sources of
its fields (but optional ones) and its ``required_columns``; its known columns
add the optional fields' sources and its ``ignored_columns``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import polars as pl

from agrolake.datasets.model import Dataset, Table
from agrolake.errors import FileRejected
from agrolake.lake.naming import normalise, snake_case
from agrolake.readers import FileSample
from agrolake.readers import Table as FileTable
from agrolake.transforms.row_errors import LINEAGE

if TYPE_CHECKING:
    import pandera.polars as pa


@dataclass(frozen=True)
class RawColumns:
    """The columns one table of a dataset's files has: a sheet, or the whole file."""

    sheet: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def missing(self, columns: list[str]) -> list[str]:
        present = {normalise(c) for c in columns}
        return [c for c in self.required if normalise(c) not in present]

    def unknown(self, columns: list[str]) -> list[str]:
        """Columns of a file that the declaration does not name (schema evolution)."""
        known = {normalise(c) for c in (*self.required, *self.optional)}
        return [c for c in columns if normalise(c) not in known]


@cache
def raw_columns(table: Table) -> RawColumns:
    required = [f.source for f in table.fields if f.source is not None and not f.optional]
    optional = [f.source for f in table.fields if f.source is not None and f.optional]
    required += table.required_columns
    optional += table.ignored_columns
    return RawColumns(table.sheet, tuple(dict.fromkeys(required)), tuple(dict.fromkeys(optional)))


def new_columns(names: list[str], table: Table, present: list[str]) -> dict[str, str]:
    """Raw columns no field declares, with the table column each becomes (snake case).

    A name already taken (by a field, or by another new column once snake cased:
    ``Foo Bar`` and ``foo_bar``) gets a number, so no column is lost or doubled.
    """
    if table.evolution != "add_columns":
        return {}
    taken = set(present)
    found: dict[str, str] = {}
    for column in raw_columns(table).unknown([n for n in names if n not in LINEAGE]):
        base = snake_case(column)
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        taken.add(name)
        found[column] = name
    return found


@cache
def raw_schema(table: Table) -> pa.DataFrameSchema:
    """The pandera schema of the raw contract: required columns, at least one row."""
    import pandera.polars as pa

    columns = raw_columns(table)
    has_rows = pa.Check(
        lambda data: data.lazyframe.select(pl.len() > 0),
        name="has_data_rows",
        error="no data rows",
    )
    schema = {c: pa.Column(nullable=True, required=True) for c in columns.required}
    schema |= {c: pa.Column(nullable=True, required=False) for c in columns.optional}
    return pa.DataFrameSchema(schema, checks=[has_rows], name=table.sheet)


def table_for(sample: FileSample, wanted: RawColumns) -> FileTable | None:
    """The file's table that plays ``wanted``: the named sheet, else the fullest match."""
    if wanted.sheet is not None:
        named = sample.table(wanted.sheet)
        if named is not None:
            return named
    if not sample.tables:
        return None
    return min(sample.tables, key=lambda t: len(wanted.missing(t.columns)))


def missing_columns(dataset: Dataset, sample: FileSample) -> dict[str, list[str]]:
    """Required columns absent, per table of the dataset (empty when all are there)."""
    missing: dict[str, list[str]] = {}
    for table in dataset.tables:
        wanted = raw_columns(table)
        found = table_for(sample, wanted)
        gaps = list(wanted.required) if found is None else wanted.missing(found.columns)
        if gaps:
            where = (found.name if found is not None else wanted.sheet) or "file"
            missing[where] = gaps
    return missing


def required_count(dataset: Dataset) -> int:
    return sum(len(raw_columns(t).required) for t in dataset.tables)


def coverage(dataset: Dataset, sample: FileSample) -> float:
    """Share of the required columns the file has: how close it is to this dataset."""
    required = required_count(dataset)
    absent = sum(len(g) for g in missing_columns(dataset, sample).values())
    return (required - absent) / required if required else 0.0


#: New columns one file may add to a table (``AGROLAKE_MAX_NEW_COLUMNS``): an export
#: gone wrong (a pivot, a transposed sheet) would otherwise widen a table for good.
MAX_NEW_COLUMNS = 50


def check_raw(
    dataset: Dataset, sample: FileSample, file_name: str, max_new_columns: int = MAX_NEW_COLUMNS
) -> None:
    """Validate the file's structure with the raw schemas; raise FileRejected if it fails."""
    import pandera.polars as pa

    for table in dataset.tables:
        wanted = raw_columns(table)
        found = table_for(sample, wanted)
        where = f"sheet {found.name!r}" if found is not None and found.name else "the file"
        if found is None:
            raise FileRejected(
                f"{file_name} is {dataset.id} but has no {where}",
                code="missing_columns",
                dataset=dataset.id,
            )
        _check_names(dataset, table, found.columns, file_name, where, max_new_columns)
        if table.evolution == "reject" and (unknown := wanted.unknown(found.columns)):
            raise FileRejected(
                f"{file_name} is {dataset.id} but {where} has columns its declaration does "
                f"not name (evolution: reject): {', '.join(unknown)}",
                code="unexpected_columns",
                dataset=dataset.id,
                unexpected_columns=unknown,
            )
        frame = _with_declared_names(found.frame, wanted)
        try:
            raw_schema(table).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            raise _rejection(dataset, file_name, where, exc) from exc


def _check_names(
    dataset: Dataset,
    table: Table,
    columns: list[str],
    file_name: str,
    where: str,
    max_new_columns: int,
) -> None:
    """Columns trusted could not keep: agrolake's own names, new columns that would be
    one column once snake cased, or too many new columns at once."""
    reserved = [c for c in columns if c.strip().startswith("_")]
    if reserved:
        raise FileRejected(
            f"{file_name} has columns named as agrolake's own (starting with _): "
            + ", ".join(reserved),
            code="bad_column_names",
            dataset=dataset.id,
            columns=reserved,
        )
    if table.evolution != "add_columns":
        return
    unknown = raw_columns(table).unknown(columns)
    if len(unknown) > max_new_columns:
        raise FileRejected(
            f"{file_name} would add {len(unknown)} new columns to "
            f"{table.table_name} in {where}, over the limit of {max_new_columns} "
            "(AGROLAKE_MAX_NEW_COLUMNS): an export gone wrong? Declare them, or raise the limit",
            code="too_many_new_columns",
            dataset=dataset.id,
            new_columns=len(unknown),
        )
    seen: dict[str, str] = {f.name: f"field {f.name}" for f in table.fields}
    for column in unknown:
        name = snake_case(column)
        if name in seen:
            raise FileRejected(
                f"{file_name}: new column {column!r} would be {name!r} in "
                f"{table.table_name}, as {seen[name]} is: rename one of them",
                code="bad_column_names",
                dataset=dataset.id,
                columns=[column],
            )
        seen[name] = f"column {column!r}"


def _with_declared_names(frame: pl.DataFrame, wanted: RawColumns) -> pl.DataFrame:
    declared = {normalise(c): c for c in (*wanted.required, *wanted.optional)}
    renames = {c: declared[normalise(c)] for c in frame.columns if normalise(c) in declared}
    return frame.rename({k: v for k, v in renames.items() if k != v})


def _rejection(
    dataset: Dataset, file_name: str, where: str, exc: pa.errors.SchemaErrors
) -> FileRejected:
    failures = exc.failure_cases.to_dicts()
    missing = [str(f["failure_case"]) for f in failures if f["check"] == "column_in_dataframe"]
    if missing:
        return FileRejected(
            f"{file_name} looks like {dataset.id} but {where} lacks required columns: "
            + ", ".join(missing),
            code="missing_columns",
            dataset=dataset.id,
            missing_columns=missing,
        )
    if any(f["check"] in ("has_data_rows", "no data rows") for f in failures):
        return FileRejected(
            f"{file_name} is {dataset.id} but {where} has a header and no data rows",
            code="no_rows",
            dataset=dataset.id,
        )
    checks = ", ".join(sorted({str(f["check"]) for f in failures}))
    return FileRejected(
        f"{file_name} fails the raw contract of {dataset.id} in {where}: {checks}",
        code="contract_failed",
        dataset=dataset.id,
    )
