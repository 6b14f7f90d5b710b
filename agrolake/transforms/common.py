"""Reusable pieces of the raw → trusted cleaning: parsers, error entries, schemas, the split.

Every builder here is a polars expression or a LazyFrame → LazyFrame function
made of row-wise operations only (no sort, group, dedup, collect or Python
UDF), so a cleaning runs in the streaming engine and gives the same answer on
any batch of a file as on the whole file.

A cleaned frame has the trusted columns, the lineage columns the caller put on
the raw frame (``_row`` above all: its position in the input) and ``_errors``,
the list of problems of the row as ``{column, check, value}`` structs; an
empty list means the row is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
import polars.selectors as cs

from agrolake.lake.naming import normalise

ERRORS = "_errors"
ROW = "_row"
# Bookkeeping columns a caller may put on the raw frame; they pass through untouched.
LINEAGE = (ROW, "_ingest_id", "_ingested_at", "_source")

ERROR_DTYPE = pl.Struct({"column": pl.String, "check": pl.String, "value": pl.String})
ERRORS_DTYPE = pl.List(ERROR_DTYPE)

# Compared after trimming and upper-casing; "NAN" is how exports spell a missing float.
NULL_MARKERS = ("NP", "NAN", "NULL", "")
# "true"/"false" too: fastexcel writes a boolean cell read as text that way.
TRUE_WORDS = ("s", "si", "sí", "true")
FALSE_WORDS = ("n", "no", "false")
# yyyy-mm-dd with an optional time, as fastexcel renders a date cell read as text.
ISO_DATE = r"^(\d{4}-\d{1,2}-\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
DMY_DATE = r"^(\d{1,2}/\d{1,2}/\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
# Whole floats beyond 2**53 are not exact integers any more.
MAX_EXACT_FLOAT = 2.0**53
INT32 = pl.Int32()

_RAW = "__raw:"
_TEXT = "__text:"

Parser = Callable[[pl.Expr], pl.Expr]


@dataclass(frozen=True)
class CleanOptions:
    """How a cleaning runs; personal data (NIFs, user names and ids) stays out by default.

    ``stations`` pairs AEMET station ids with the locations they stand for (from
    the locations table): the weather cleaning needs it, the others ignore it.
    """

    include_personal_data: bool = False
    stations: tuple[tuple[str, str], ...] = ()


DEFAULT_OPTIONS = CleanOptions()


@dataclass(frozen=True)
class Field:
    """One trusted column: its raw source, type and the checks its values must pass.

    ``source`` is the contract's spelling of the raw column; ``None`` marks a
    column the dataset module derives itself (and checks itself). ``parser``
    replaces the parser of ``dtype``; ``kind`` then names the type in the
    ``type:<kind>`` check. ``low``/``high`` are inclusive bounds.
    """

    name: str
    dtype: pl.DataType
    source: str | None = None
    required: bool = False
    low: float | None = None
    high: float | None = None
    personal: bool = False
    parser: Parser | None = None
    kind: str | None = None

    @property
    def type_check(self) -> str:
        return f"type:{self.kind or str(self.dtype).lower()}"

    @property
    def range_check(self) -> str | None:
        if self.low is None and self.high is None:
            return None
        return f"range:{_bound(self.low)}..{_bound(self.high)}"

    def parse(self, text: pl.Expr) -> pl.Expr:
        return self.parser(text) if self.parser is not None else parse(text, self.dtype)


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def visible(fields: Iterable[Field], options: CleanOptions) -> tuple[Field, ...]:
    """The fields a cleaning outputs: personal ones only when the options ask for them."""
    return tuple(f for f in fields if options.include_personal_data or not f.personal)


# --- raw columns -----------------------------------------------------------------


def raw_col(source: str) -> pl.Expr:
    """The raw text of a source column, as read."""
    return pl.col(_RAW + source)


def text_col(source: str) -> pl.Expr:
    """The cleaned text of a source column: trimmed, null markers as null."""
    return pl.col(_TEXT + source)


def conform(raw: pl.LazyFrame, sources: Iterable[str]) -> pl.LazyFrame:
    """Raw columns under private names, matched to the contract's names; absent ones null.

    Headers match as the contracts compare them (trimmed, unquoted, any case);
    the first of two headers that match the same name wins. Columns no source
    asks for are dropped, lineage columns kept.
    """
    present = raw.collect_schema().names()
    columns = [pl.col(c) for c in LINEAGE if c in present]
    for source, found in match_sources(present, sources).items():
        # Cast, not trust: a reader that inferred a number still gives us text.
        value = pl.col(found).cast(pl.String) if found else pl.lit(None, pl.String)
        columns.append(value.alias(_RAW + source))
    return raw.select(columns)


def match_sources(present: Iterable[str], sources: Iterable[str]) -> dict[str, str | None]:
    """The column of ``present`` that plays each source (None when absent), as ``conform`` matches.

    Headers match trimmed, unquoted and in any case; of two that match, the first wins.
    """
    by_name: dict[str, str] = {}
    for column in present:
        by_name.setdefault(normalise(column), column)
    return {source: by_name.get(normalise(source)) for source in dict.fromkeys(sources)}


def clean_text(value: pl.Expr) -> pl.Expr:
    """Trimmed text, with the null markers of the exports ("NP", "NULL", "NaN", blank) null."""
    trimmed = value.str.strip_chars()
    return pl.when(trimmed.str.to_uppercase().is_in(NULL_MARKERS)).then(None).otherwise(trimmed)


# --- parsers: cleaned text in, typed value or null out ------------------------------


def parse_float(text: pl.Expr) -> pl.Expr:
    """A finite float; a lone decimal comma ("0,75") counts as a point.

    Text with both a comma and a point (or several commas) is ambiguous about
    thousands separators, so it is left to fail rather than guessed.
    """
    comma = (text.str.count_matches(",", literal=True) == 1) & ~text.str.contains(".", literal=True)
    number = (
        pl.when(comma)
        .then(text.str.replace(",", ".", literal=True))
        .otherwise(text)
        .cast(pl.Float64, strict=False)
    )
    return pl.when(number.is_finite()).then(number)


def parse_int(text: pl.Expr, dtype: pl.DataType = INT32) -> pl.Expr:
    """An integer of ``dtype``; whole numbers written as floats ("2022.0", "4,0") count.

    Spreadsheets store every number as a float, so exports often print ids
    and counts with a decimal part; anything not whole or out of range fails.
    """
    number = parse_float(text)
    whole = pl.when((number == number.floor()) & (number.abs() <= MAX_EXACT_FLOAT)).then(
        number.cast(pl.Int64)
    )
    value = pl.coalesce(text.cast(pl.Int64, strict=False), whole)
    low, high = _int_bounds(dtype)
    return pl.when(value.is_between(low, high)).then(value).cast(dtype)


def _int_bounds(dtype: pl.DataType) -> tuple[int, int]:
    bits = {"Int8": 8, "Int16": 16, "Int32": 32, "Int64": 64}[str(dtype)]
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def parse_bool(text: pl.Expr) -> pl.Expr:
    """S/N, Sí/Si/No, true/false in any case."""
    # when/is_in rather than replace_strict: the streaming engine runs the latter in memory.
    word = text.str.to_lowercase()
    return pl.when(word.is_in(TRUE_WORDS)).then(True).when(word.is_in(FALSE_WORDS)).then(False)


def parse_date(text: pl.Expr) -> pl.Expr:
    """dd/mm/yyyy (the Spanish exports) or yyyy-mm-dd, either with an optional time.

    The time is dropped: these columns are days, and a workbook date cell read
    as text comes as "2021-01-06 00:00:00".
    """
    dmy = text.str.extract(DMY_DATE, 1).str.to_date("%d/%m/%Y", strict=False)
    iso = text.str.extract(ISO_DATE, 1).str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(dmy, iso)


def parse(text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The parser of a trusted dtype applied to cleaned text."""
    if dtype == pl.String():
        return text
    if dtype == pl.Float64():
        return parse_float(text)
    if dtype.is_integer():
        return parse_int(text, dtype)
    if dtype == pl.Boolean():
        return parse_bool(text)
    if dtype == pl.Date():
        return parse_date(text)
    raise ValueError(f"no parser for {dtype}")


# --- errors ------------------------------------------------------------------------


def error_if(condition: pl.Expr, column: str, check: str, value: pl.Expr) -> pl.Expr:
    """One ``_errors`` entry when ``condition`` holds, else null (dropped later)."""
    entry = pl.struct(column=pl.lit(column), check=pl.lit(check), value=value.cast(pl.String))
    return pl.when(condition).then(entry)


def field_errors(field: Field) -> list[pl.Expr]:
    """The type, not-null and range errors of a sourced field (after ``typed``)."""
    if field.source is None:
        return []
    raw, text, value = raw_col(field.source), text_col(field.source), pl.col(field.name)
    errors = []
    # Plain text cannot fail to parse; leaving its check out keeps the plan small.
    if field.parser is not None or field.dtype != pl.String():
        failed = text.is_not_null() & value.is_null()
        errors.append(error_if(failed, field.name, field.type_check, raw))
    if field.required:
        errors.append(error_if(text.is_null(), field.name, "not_null", raw.fill_null("")))
    if field.range_check is not None:
        outside = pl.lit(False)
        if field.low is not None:
            outside = outside | (value < field.low)
        if field.high is not None:
            outside = outside | (value > field.high)
        errors.append(error_if(outside, field.name, field.range_check, raw))
    return errors


# --- the generic cleaning ------------------------------------------------------------


def typed(
    raw: pl.LazyFrame, fields: Sequence[Field], extra_sources: Iterable[str] = ()
) -> pl.LazyFrame:
    """Conformed raw, its cleaned text and every sourced field parsed under its trusted name.

    ``extra_sources`` are raw columns a dataset needs beyond its fields (the
    parts of a composite id). The private columns stay until ``finish``.
    """
    sources = [f.source for f in fields if f.source is not None]
    sources += [s for s in extra_sources if s not in sources]
    lf = conform(raw, sources)
    # Two steps so each text is computed once and the parsers read a column.
    lf = lf.with_columns(clean_text(raw_col(s)).alias(_TEXT + s) for s in sources)
    return lf.with_columns(
        f.parse(text_col(f.source)).alias(f.name) for f in fields if f.source is not None
    )


def finish(lf: pl.LazyFrame, fields: Sequence[Field], errors: Sequence[pl.Expr]) -> pl.LazyFrame:
    """The trusted columns in field order, the lineage columns, and ``_errors``."""
    collected = pl.concat_list(errors).list.drop_nulls() if errors else pl.lit([], ERRORS_DTYPE)
    return lf.with_columns(collected.cast(ERRORS_DTYPE).alias(ERRORS)).select(
        *(f.name for f in fields), cs.by_name(*LINEAGE, require_all=False), ERRORS
    )


def clean_fields(raw: pl.LazyFrame, fields: Sequence[Field]) -> pl.LazyFrame:
    """A whole cleaning for tables whose fields are all sourced (no derived columns)."""
    lf = typed(raw, fields)
    return finish(lf, fields, [e for f in fields for e in field_errors(f)])


# --- schemas and the split -------------------------------------------------------------


def schema_for(name: str, fields: Sequence[Field]) -> pa.DataFrameSchema:
    """The trusted schema: every field with its dtype, nullability and range.

    The column set is strict; personal fields, ``_errors`` and the lineage
    columns may be absent. The range checks are data checks: pandera runs them
    when validating a DataFrame (of valid rows), not a LazyFrame's schema.
    """
    columns: dict[str, pa.Column] = {}
    for f in fields:
        checks = []
        if f.low is not None and f.high is not None:
            checks.append(pa.Check.in_range(f.low, f.high))
        elif f.low is not None:
            checks.append(pa.Check.ge(f.low))
        elif f.high is not None:
            checks.append(pa.Check.le(f.high))
        columns[f.name] = pa.Column(
            f.dtype, nullable=not f.required, required=not f.personal, checks=checks
        )
    columns[ERRORS] = pa.Column(ERRORS_DTYPE, required=False)
    columns |= {c: pa.Column(required=False) for c in LINEAGE}
    return pa.DataFrameSchema(columns, strict=True, name=name)


def valid_rows(cleaned: pl.LazyFrame) -> pl.LazyFrame:
    """The rows without errors, ``_errors`` dropped (lineage columns such as ``_row`` kept)."""
    return cleaned.filter(pl.col(ERRORS).list.len() == 0).drop(ERRORS)


def quarantined_rows(cleaned: pl.LazyFrame, table: str) -> pl.LazyFrame:
    """One row per (row, error) of the rows with errors.

    Columns: ``table``, ``row_index`` (Int64: the row's ``_row``, the
    position the caller numbered the raw input with, or null without it),
    ``column``, ``check``, ``value`` (the raw text that failed), ``row_json``
    (the *cleaned* row's data columns as JSON; failed values are null there and
    kept raw in ``value``, and personal data only appears if the cleaning
    included it), then any other lineage column of ``cleaned``.
    """
    names = cleaned.collect_schema().names()
    data = [c for c in names if c != ERRORS and c not in LINEAGE]
    lineage = [c for c in LINEAGE if c in names and c != ROW]
    row_index = pl.col(ROW).cast(pl.Int64) if ROW in names else pl.lit(None, pl.Int64)
    return (
        cleaned.filter(pl.col(ERRORS).list.len() > 0)
        .select(
            pl.lit(table).alias("table"),
            row_index.alias("row_index"),
            pl.col(ERRORS),
            pl.struct(data).struct.json_encode().alias("row_json"),
            *lineage,
        )
        .explode(ERRORS)
        .unnest(ERRORS)
        .select("table", "row_index", "column", "check", "value", "row_json", *lineage)
    )
