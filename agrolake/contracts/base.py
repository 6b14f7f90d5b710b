"""What a dataset contract declares, and the structural (raw) check it implies.

One declaration per dataset: how to recognise its files, how to read them, the
columns each table must have, and its source. The raw contract is structural
(parses, recognised, required columns, at least one data row); value and type
checks belong to the trusted zone, where a bad row is quarantined instead of
rejecting its file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pandera.polars as pa
import polars as pl

from agrolake.errors import FileRejected
from agrolake.lake.naming import normalise
from agrolake.readers import FileSample, Table
from agrolake.transforms import ByValue, CleanOptions


@dataclass(frozen=True)
class TableContract:
    """The columns one table of a dataset's files has: a sheet, or the whole file."""

    sheet: str | None
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def missing(self, columns: list[str]) -> list[str]:
        present = {normalise(c) for c in columns}
        return [c for c in self.required if normalise(c) not in present]

    @cached_property
    def raw_schema(self) -> pa.DataFrameSchema:
        """The pandera schema of the raw contract: required columns, at least one row."""
        has_rows = pa.Check(
            lambda data: data.lazyframe.select(pl.len() > 0),
            name="has_data_rows",
            error="no data rows",
        )
        columns = {c: pa.Column(nullable=True, required=True) for c in self.required}
        columns |= {c: pa.Column(nullable=True, required=False) for c in self.optional}
        return pa.DataFrameSchema(columns, checks=[has_rows], name=self.sheet)


@dataclass(frozen=True)
class TrustedTable:
    """A trusted table made from one table (sheet) of a dataset's files.

    ``clean`` is a pure transform from raw text columns to the trusted columns
    plus ``_errors`` (the row's failed checks); ``key`` is the business key
    (MERGE on it, the latest ingest winning) or empty (rows replaced per ingest,
    never deduplicated across rows). ``by_value``, when the cleaning is
    separable by column, lets trusted run it once per distinct value.
    """

    id: str
    sheet: str | None
    clean: Callable[[pl.LazyFrame, CleanOptions], pl.LazyFrame]
    schema: pa.DataFrameSchema
    key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    evolution: str = "New columns are kept as nullable text columns."
    by_value: ByValue | None = None


@dataclass(frozen=True)
class DatasetContract:
    """A dataset's declaration; ``id`` is ``<domain>.<name>``."""

    id: str
    source: str
    description: str
    formats: tuple[str, ...]
    tables: tuple[TableContract, ...]
    name_pattern: str | None = None
    version: int = 1
    read_options: dict[str, str] = field(default_factory=dict)
    trusted: tuple[TrustedTable, ...] = ()

    @property
    def domain(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    def names_match(self, file_name: str) -> bool:
        return bool(self.name_pattern and re.search(self.name_pattern, file_name, re.IGNORECASE))

    def table_for(self, sample: FileSample, wanted: TableContract) -> Table | None:
        """The file's table that plays ``wanted``: the named sheet, else the fullest match."""
        if wanted.sheet is not None:
            named = sample.table(wanted.sheet)
            if named is not None:
                return named
        if not sample.tables:
            return None
        return min(sample.tables, key=lambda t: len(wanted.missing(t.columns)))

    def missing_columns(self, sample: FileSample) -> dict[str, list[str]]:
        """Required columns absent, per table of the contract (empty when all are there)."""
        missing: dict[str, list[str]] = {}
        for wanted in self.tables:
            table = self.table_for(sample, wanted)
            gaps = list(wanted.required) if table is None else wanted.missing(table.columns)
            if gaps:
                where = (table.name if table is not None else wanted.sheet) or "file"
                missing[where] = gaps
        return missing

    def coverage(self, sample: FileSample) -> float:
        """Share of the required columns the file has: how close it is to this contract."""
        required = sum(len(t.required) for t in self.tables)
        absent = sum(len(g) for g in self.missing_columns(sample).values())
        return (required - absent) / required if required else 0.0

    def check_raw(self, sample: FileSample, file_name: str) -> None:
        """Validate the file's structure with the raw schemas; raise FileRejected if it fails."""
        for wanted in self.tables:
            table = self.table_for(sample, wanted)
            where = f"sheet {table.name!r}" if table is not None and table.name else "the file"
            if table is None:
                raise FileRejected(
                    f"{file_name} is {self.id} but has no {where}",
                    code="missing_columns",
                    dataset=self.id,
                )
            frame = _with_contract_names(table.frame, wanted)
            try:
                wanted.raw_schema.validate(frame, lazy=True)
            except pa.errors.SchemaErrors as exc:
                raise _rejection(self, file_name, where, exc) from exc


def _with_contract_names(frame: pl.DataFrame, wanted: TableContract) -> pl.DataFrame:
    declared = {normalise(c): c for c in (*wanted.required, *wanted.optional)}
    renames = {c: declared[normalise(c)] for c in frame.columns if normalise(c) in declared}
    return frame.rename({k: v for k, v in renames.items() if k != v})


def _rejection(
    contract: DatasetContract, file_name: str, where: str, exc: pa.errors.SchemaErrors
) -> FileRejected:
    failures = exc.failure_cases.to_dicts()
    missing = [str(f["failure_case"]) for f in failures if f["check"] == "column_in_dataframe"]
    if missing:
        return FileRejected(
            f"{file_name} looks like {contract.id} but {where} lacks required columns: "
            + ", ".join(missing),
            code="missing_columns",
            dataset=contract.id,
            missing_columns=missing,
        )
    if any(f["check"] in ("has_data_rows", "no data rows") for f in failures):
        return FileRejected(
            f"{file_name} is {contract.id} but {where} has a header and no data rows",
            code="no_rows",
            dataset=contract.id,
        )
    checks = ", ".join(sorted({str(f["check"]) for f in failures}))
    return FileRejected(
        f"{file_name} fails the raw contract of {contract.id} in {where}: {checks}",
        code="contract_failed",
        dataset=contract.id,
    )
