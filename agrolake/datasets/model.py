"""What a dataset declaration holds: one per source, from which every zone derives its part.

A :class:`Dataset` says how its files are recognised (formats, name pattern,
sheets and raw columns) and what trusted table(s) they feed: each
:class:`Field` names its raw column, type, parser, nullability and value checks;
a :class:`Table` adds the business key, the write policy, schema evolution and
partitioning. The raw contract, the trusted schema, the cleaning and the
quarantine checks are all derived from it (``cleaning.py``, ``raw_contract.py``,
``schema.py``). Built-in datasets are Python modules under ``builtin/``; users
write the same declaration as YAML (``declarations.py``), whose JSON Schema is
this model's (``docs/dataset-declaration.schema.json``). Python-only parts (a
cleaning of its own, parsers as functions) are left out of files and schema.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

import polars as pl
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as Option
from pydantic.json_schema import SkipJsonSchema

from agrolake.transforms.named_parsers import NAMED_PARSERS
from agrolake.transforms.parsers import NULL_MARKERS, Parser, parse

#: ``source.dataset`` and ``domain.name``: lower-case words, as they appear in SQL names.
ID_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"

FieldType = Literal["string", "integer", "int32", "int64", "float", "boolean", "date", "datetime"]
Format = Literal["csv", "xlsx", "xls", "json", "parquet"]
WriteMode = Literal["merge", "replace_ingest"]
Evolution = Literal["add_columns", "ignore", "reject"]

DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}
# The check a failed parse reports: ``type:<name>``.
TYPE_CHECKS = {
    "integer": "int64",
    "int32": "int32",
    "int64": "int64",
    "float": "float64",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
NUMERIC = ("integer", "int32", "int64", "float")
TEMPORAL = ("date", "datetime")
ALLOWED_SHOWN = 80  # characters of an ``allowed:`` check name

_STRICT = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


@dataclass(frozen=True)
class CleanOptions:
    """How a cleaning runs; personal data (NIFs, user names and ids) stays out by default.

    ``stations`` pairs AEMET station ids with the locations they stand for (from
    the locations table): the weather cleaning needs it, the others ignore it.
    """

    include_personal_data: bool = False
    stations: tuple[tuple[str, str], ...] = ()


DEFAULT_OPTIONS = CleanOptions()


class Cleaning(Protocol):
    """A table's cleaning: raw text columns in, trusted columns and ``_errors`` out."""

    def __call__(
        self, raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS
    ) -> pl.LazyFrame: ...


class Checks(BaseModel):
    """Value checks of a field; a row failing one is quarantined with the check's name."""

    model_config = _STRICT

    min: float | date | None = Option(None, description="Smallest value allowed (inclusive).")
    max: float | date | None = Option(None, description="Largest value allowed (inclusive).")
    allowed: tuple[str | int | float | bool, ...] | None = Option(
        None, min_length=1, description="The only values allowed (after parsing)."
    )
    pattern: str | None = Option(
        None,
        description="A regular expression the cell's trimmed text must contain (anchor it "
        "with ^ and $ for a whole match); Rust regex syntax, as polars runs it.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Checks:
        if self.min is not None and self.max is not None:
            if type(self.min) is not type(self.max) and date in (type(self.min), type(self.max)):
                raise ValueError("min and max must both be numbers or both be dates")
            if self.min > self.max:  # type: ignore[operator]
                raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.pattern is not None:
            try:
                pl.select(pl.lit("").str.contains(self.pattern))
            except pl.exceptions.PolarsError as exc:
                reason = str(exc).strip().splitlines()[-1].strip() or "invalid"
                raise ValueError(f"pattern {self.pattern!r} does not compile: {reason}") from None
        return self

    @property
    def range_check(self) -> str | None:
        if self.min is None and self.max is None:
            return None
        return f"range:{_bound(self.min)}..{_bound(self.max)}"

    @property
    def allowed_check(self) -> str | None:
        if self.allowed is None:
            return None
        shown = "|".join(str(v) for v in self.allowed)
        return "allowed:" + (shown if len(shown) <= ALLOWED_SHOWN else shown[:ALLOWED_SHOWN] + "…")


def _bound(value: float | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(int(value)) if float(value).is_integer() else str(value)


class Field(BaseModel):
    """One trusted column: its raw source, type, parser and the checks its values must pass."""

    model_config = _STRICT

    name: str = Option(
        min_length=1,
        max_length=120,
        pattern=r"^[^_\s].*$",
        description="The trusted column's name (snake_case by convention); names starting "
        "with _ are agrolake's.",
    )
    source: str | None = Option(
        None,
        min_length=1,
        description="The raw column it is read from, as the file spells it (compared "
        "trimmed, unquoted and in any case).",
    )
    type: FieldType = Option("string", description="The trusted column's type.")
    required: bool = Option(
        False, description="Every row must have a value (else it is quarantined: not_null)."
    )
    optional: bool = Option(
        False,
        description="Files may lack the column (by default a file without it is rejected "
        "at landing). A required field cannot be optional.",
    )
    decimal: Literal["auto", ".", ","] = Option(
        "auto",
        description="Numbers: ',' reads 1.234,5 (points group thousands), '.' reads "
        "1,234.5, 'auto' takes a lone comma as the decimal mark and refuses both.",
    )
    format: tuple[str, ...] = Option(
        (),
        description="Dates and datetimes: strptime formats tried in order (e.g. %d/%m/%Y); "
        "default dd/mm/yyyy or ISO.",
    )
    parser: str | None = Option(
        None,
        description="A named parser for text fields: " + ", ".join(sorted(NAMED_PARSERS)),
    )
    checks: Checks = Option(default_factory=Checks, description="Value checks.")
    personal: bool = Option(
        False,
        description="Personal data: kept out of trusted unless AGROLAKE_INCLUDE_PERSONAL_DATA.",
    )
    description: str = Option("", description="What the column holds.")
    # Python declarations only.
    parse_with: SkipJsonSchema[Parser | None] = Option(None, exclude=True, repr=False)
    kind: SkipJsonSchema[str | None] = Option(None, exclude=True)
    derived_from: SkipJsonSchema[str | None] = Option(None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _one_format_as_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("format"), str):
            return {**data, "format": (data["format"],)}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Field:
        if self.required and self.optional:
            raise ValueError("a required field cannot be optional")
        if self.parser is not None:
            if self.parser not in NAMED_PARSERS:
                known = ", ".join(sorted(NAMED_PARSERS))
                raise ValueError(f"unknown parser {self.parser!r}; known parsers: {known}")
            if self.type != "string":
                raise ValueError(f"parser {self.parser} makes text: give type string")
        if self.decimal != "auto" and self.type not in NUMERIC:
            raise ValueError("decimal applies to integer and float fields")
        if self.format and self.type not in TEMPORAL:
            raise ValueError("format applies to date and datetime fields")
        for bound in (self.checks.min, self.checks.max):
            if isinstance(bound, date) and self.type not in TEMPORAL:
                raise ValueError("date bounds apply to date and datetime fields")
            if bound is not None and not isinstance(bound, date) and self.type not in NUMERIC:
                raise ValueError(f"numeric bounds apply to number fields, not {self.type}")
        if self.checks.allowed is not None:
            _check_allowed(self.checks.allowed, self.type)
        return self

    @property
    def dtype(self) -> pl.DataType:
        return DTYPES[self.type]

    @property
    def has_type_check(self) -> bool:
        """Plain text cannot fail to parse; leaving its check out keeps the plan small."""
        return self.parse_with is not None or self.parser is not None or self.type != "string"

    @property
    def type_check(self) -> str:
        named = NAMED_PARSERS[self.parser].kind if self.parser else None
        return f"type:{self.kind or named or TYPE_CHECKS.get(self.type, self.type)}"

    def parse(self, text: pl.Expr) -> pl.Expr:
        """The typed value of the cell's cleaned text (null when it does not parse)."""
        if self.parse_with is not None:
            return self.parse_with(text)
        if self.parser is not None:
            return NAMED_PARSERS[self.parser].parse(text)
        return parse(text, self.dtype, decimal=self.decimal, formats=self.format)


def _check_allowed(values: Sequence[object], kind: str) -> None:
    for value in values:
        if kind in NUMERIC and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"allowed value {value!r} is not a number")
        if kind == "boolean" and not isinstance(value, bool):
            raise ValueError(f"allowed value {value!r} is not true or false")
        if kind in ("string", *TEMPORAL) and not isinstance(value, str):
            raise ValueError(f"allowed value {value!r} is not text: quote it")


CustomCleaning = Callable[["Table", pl.LazyFrame, CleanOptions], pl.LazyFrame]


class Table(BaseModel):
    """A trusted table fed by a dataset: its fields, key and how it is written."""

    model_config = _STRICT

    name: str | None = Option(
        None,
        pattern=ID_PATTERN,
        description="domain.name of the table (SQL: trusted.domain_name). Default: the "
        "dataset's id. Two datasets may feed one table when their fields agree.",
    )
    sheet: str | None = Option(
        None, description="The workbook sheet the table is read from (default: the first)."
    )
    fields: tuple[Field, ...] = Option(min_length=1, description="The trusted columns.")
    key: tuple[str, ...] = Option(
        (),
        description="Business key (field names, each required): rows are MERGEd on it, "
        "the latest ingest winning. Without one, each ingest's rows replace its earlier rows.",
    )
    write: WriteMode | None = Option(
        None,
        description="merge (on the key; default with a key) or replace_ingest (default "
        "without: an ingest's rows replace the rows it wrote before; no deduplication).",
    )
    evolution: Evolution = Option(
        "add_columns",
        description="Raw columns no field declares: add_columns keeps them as nullable "
        "text columns, ignore drops them, reject refuses the file at landing.",
    )
    partition_by: tuple[str, ...] = Option((), description="Fields to partition the table by.")
    required_columns: tuple[str, ...] = Option(
        (),
        description="Raw columns files must have beyond the fields' sources (not kept).",
    )
    ignored_columns: tuple[str, ...] = Option(
        (), description="Raw columns files may have that are neither kept nor new."
    )
    null_values: tuple[str, ...] = Option(
        NULL_MARKERS,
        description="Cell texts that mean no value (compared trimmed, in any case).",
    )
    description: str = Option("", description="What the table holds.")
    # Python declarations only.
    clean: SkipJsonSchema[CustomCleaning | None] = Option(None, exclude=True, repr=False)
    by_value: SkipJsonSchema[bool] = Option(False, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Table:
        names = [f.name for f in self.fields]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"field names repeat: {', '.join(repeated)}")
        by_name = {f.name: f for f in self.fields}
        for column in self.key:
            if column not in by_name:
                raise ValueError(f"key column {column!r} is not a field")
            if not by_name[column].required:
                raise ValueError(f"key column {column!r} must be required: true")
        if self.write == "merge" and not self.key:
            raise ValueError("write: merge needs a key")
        for column in self.partition_by:
            if column not in by_name:
                raise ValueError(f"partition column {column!r} is not a field")
        if self.clean is None and any(f.source is None for f in self.fields):
            missing = ", ".join(f.name for f in self.fields if f.source is None)
            raise ValueError(f"fields without a source need a cleaning of their own: {missing}")
        return self

    @property
    def table_name(self) -> str:
        assert self.name is not None, "a dataset names its tables"
        return self.name

    @property
    def write_mode(self) -> WriteMode:
        return self.write or ("merge" if self.key else "replace_ingest")

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def fingerprint(self) -> str:
        """Changes when the declaration does (a rebuild applies it to every file)."""
        text = self.model_dump_json(exclude={"description"})
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def sources(self) -> dict[str, str]:
        """Field name → raw column, for the fields read from the file."""
        return {f.name: f.source for f in self.fields if f.source is not None}


class Files(BaseModel):
    """How a dataset's files are recognised, beside their columns."""

    model_config = _STRICT

    formats: tuple[Format, ...] = Option(
        ("csv",), min_length=1, description="File formats the dataset comes in."
    )
    name_pattern: str | None = Option(
        None,
        description="A regular expression (Python, case-insensitive) file names of the "
        "dataset contain: breaks ties between datasets with the same columns.",
    )

    @model_validator(mode="after")
    def _compiles(self) -> Files:
        if self.name_pattern is not None:
            try:
                re.compile(self.name_pattern)
            except re.error as exc:
                raise ValueError(f"name_pattern does not compile: {exc}") from None
        return self


class Dataset(BaseModel):
    """A dataset's declaration; ``id`` is ``<source>.<dataset>``."""

    model_config = _STRICT

    id: str = Option(pattern=ID_PATTERN, description="source.dataset, lower case.")
    description: str = Option("", description="What the files hold, for people.")
    provider: str | None = Option(
        None,
        min_length=1,
        max_length=100,
        pattern=r"^[^/\\\x00-\x1f]+$",
        description="The system the files come from: the first folder of their raw keys "
        "and the _source column. Default: the id's first part.",
    )
    version: int = Option(1, ge=1, description="Raise it when the declaration changes meaning.")
    enabled: bool = Option(
        True,
        description="false stops recognising new files; raw files and tables stay (orphaned).",
    )
    files: Files = Option(default_factory=Files, description="How files are recognised.")
    tables: tuple[Table, ...] = Option(min_length=1, description="The trusted tables it feeds.")
    origin: SkipJsonSchema[str] = Option("built-in", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _name_the_table(cls, data: Any) -> Any:
        """One table defaults to the dataset's id: ``trusted.<source>_<dataset>``."""
        if not isinstance(data, dict) or not isinstance(data.get("tables"), list | tuple):
            return data
        tables = list(data["tables"])
        if len(tables) == 1 and isinstance(data.get("id"), str):
            only = tables[0]
            if isinstance(only, Table) and only.name is None:
                tables[0] = only.model_copy(update={"name": data["id"]})
            elif isinstance(only, dict) and only.get("name") is None:
                tables[0] = {**only, "name": data["id"]}
        return {**data, "tables": tuple(tables)}

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        if any(t.name is None for t in self.tables):
            raise ValueError("a dataset with several tables names each of them")
        names = [t.name for t in self.tables]
        if len(set(names)) != len(names):
            raise ValueError("two tables of the dataset have the same name")
        if len(self.tables) > 1 and any(t.sheet is None for t in self.tables):
            raise ValueError("a dataset with several tables reads each from a sheet: name it")
        return self

    @property
    def source(self) -> str:
        """The provider: the raw keys' first folder and the ``_source`` column."""
        return self.provider or self.id.split(".", 1)[0]

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    def names_match(self, file_name: str) -> bool:
        pattern = self.files.name_pattern
        return bool(pattern and re.search(pattern, file_name, re.IGNORECASE))

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


@dataclass(frozen=True)
class RefinedTable:
    """A refined table: the trusted (or refined) tables it reads, by SQL name, and how it
    is built from them (a pure function of their frames, in ``inputs`` order)."""

    name: str  # domain.name in the refined zone
    inputs: tuple[str, ...]  # SQL names: trusted.erp_parcels
    build: Callable[..., pl.LazyFrame]
    key: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # not built until these exist
    # Keyword arguments of ``build`` that come from the settings (the growing season).
    options: Callable[[Any], dict[str, Any]] = field(default=lambda _: {})
    description: str = ""
