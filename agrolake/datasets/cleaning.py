"""The cleaning a declaration implies: raw text columns in, typed trusted columns and
``_errors`` out. Pure polars, row-wise only (no sort, group, dedup, collect or UDF),
so it streams and gives the same answer on any batch of a file as on the whole.

A table without a cleaning of its own is cleaned from its fields alone
(:func:`clean_fields`): each sourced field is conformed (headers matched
trimmed, unquoted and in any case), trimmed, its null markers nulled, parsed
to its type, and checked: ``type:<kind>`` when text does not parse,
``not_null`` when a required value is missing, ``range:<min>..<max>``,
``allowed:<values>`` and ``pattern:<regex>``. A built-in's own cleaning
(``Table.clean``) reuses these pieces for what fields cannot say (a composite
id from seven columns, units, a lookup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import polars as pl
import polars.selectors as cs

from agrolake.datasets.model import DEFAULT_OPTIONS, Cleaning, CleanOptions, Field, Table
from agrolake.lake.naming import match_sources
from agrolake.transforms.by_value import ByValue
from agrolake.transforms.parsers import NULL_MARKERS, clean_text
from agrolake.transforms.row_errors import LINEAGE, collect_errors, error_if

_RAW = "__raw:"
_TEXT = "__text:"


def raw_col(source: str) -> pl.Expr:
    """The raw text of a source column, as read."""
    return pl.col(_RAW + source)


def text_col(source: str) -> pl.Expr:
    """The cleaned text of a source column: trimmed, null markers as null."""
    return pl.col(_TEXT + source)


def visible(fields: Iterable[Field], options: CleanOptions) -> tuple[Field, ...]:
    """The fields a cleaning outputs: personal ones only when the options ask for them."""
    return tuple(f for f in fields if options.include_personal_data or not f.personal)


def conform(raw: pl.LazyFrame, sources: Iterable[str]) -> pl.LazyFrame:
    """Raw columns under private names, matched to the declaration's names; absent ones null.

    Headers match trimmed, unquoted and in any case; the first of two headers that
    match the same name wins. Columns no source asks for are dropped, lineage kept.
    """
    present = raw.collect_schema().names()
    columns = [pl.col(c) for c in LINEAGE if c in present]
    for source, found in match_sources(present, sources).items():
        # Cast, not trust: a reader that inferred a number still gives us text.
        value = pl.col(found).cast(pl.String) if found else pl.lit(None, pl.String)
        columns.append(value.alias(_RAW + source))
    return raw.select(columns)


def typed(
    raw: pl.LazyFrame,
    fields: Sequence[Field],
    extra_sources: Iterable[str] = (),
    null_values: Sequence[str] = NULL_MARKERS,
) -> pl.LazyFrame:
    """Conformed raw, its cleaned text and every sourced field parsed under its trusted name.

    ``extra_sources`` are raw columns a cleaning needs beyond its fields (the
    parts of a composite id). The private columns stay until ``finish``.
    """
    sources = [f.source for f in fields if f.source is not None]
    sources += [s for s in extra_sources if s not in sources]
    lf = conform(raw, sources)
    # Two steps so each text is computed once and the parsers read a column.
    lf = lf.with_columns(clean_text(raw_col(s), null_values).alias(_TEXT + s) for s in sources)
    return lf.with_columns(
        f.parse(text_col(f.source)).alias(f.name) for f in fields if f.source is not None
    )


def _literal(bound: float | date, field: Field) -> pl.Expr:
    return pl.lit(bound, dtype=pl.Date() if isinstance(bound, date) else None)


def field_errors(field: Field) -> list[pl.Expr]:
    """The type, not-null and value-check errors of a sourced field (after ``typed``)."""
    if field.source is None:
        return []
    raw, text, value = raw_col(field.source), text_col(field.source), pl.col(field.name)
    errors = []
    if field.has_type_check:
        failed = text.is_not_null() & value.is_null()
        errors.append(error_if(failed, field.name, field.type_check, raw))
    if field.required:
        errors.append(error_if(text.is_null(), field.name, "not_null", raw.fill_null("")))
    checks = field.checks
    if checks.range_check is not None:
        outside = pl.lit(False)
        if checks.min is not None:
            outside = outside | (value < _literal(checks.min, field))
        if checks.max is not None:
            outside = outside | (value > _literal(checks.max, field))
        errors.append(error_if(outside, field.name, checks.range_check, raw))
    if checks.allowed is not None and checks.allowed_check is not None:
        allowed = pl.Series(list(checks.allowed), strict=False).cast(field.dtype, strict=False)
        refused = value.is_not_null() & ~value.is_in(allowed.implode())
        errors.append(error_if(refused, field.name, checks.allowed_check, raw))
    if checks.pattern is not None:
        unlike = text.is_not_null() & ~text.str.contains(checks.pattern)
        errors.append(error_if(unlike, field.name, f"pattern:{checks.pattern}", raw))
    return errors


def finish(lf: pl.LazyFrame, fields: Sequence[Field], errors: Sequence[pl.Expr]) -> pl.LazyFrame:
    """The trusted columns in field order, the lineage columns, and ``_errors``."""
    return lf.with_columns(collect_errors(list(errors))).select(
        *(f.name for f in fields), cs.by_name(*LINEAGE, require_all=False), "_errors"
    )


def clean_fields(
    raw: pl.LazyFrame, fields: Sequence[Field], null_values: Sequence[str] = NULL_MARKERS
) -> pl.LazyFrame:
    """A whole cleaning for tables whose fields are all sourced (no derived columns)."""
    lf = typed(raw, fields, null_values=null_values)
    return finish(lf, fields, [e for f in fields for e in field_errors(f)])


def _from_fields(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
    return clean_fields(raw, visible(table.fields, options), table.null_values)


def cleaning_of(table: Table) -> Cleaning:
    """The table's cleaning: its own, or the one its fields imply."""
    custom = table.clean or _from_fields

    def clean(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
        return custom(table, raw, options)

    return clean


def by_value_of(table: Table) -> ByValue | None:
    """For a cleaning separable by column (``Table.by_value``): which raw column decides
    which outputs. A derived field names the field whose raw column it comes from."""
    if not table.by_value:
        return None
    outputs: dict[str, list[str]] = {}
    for field in table.fields:
        origin = field if field.derived_from is None else table.field(field.derived_from)
        assert origin.source is not None, f"{field.name}: derived from a field with a source"
        outputs.setdefault(origin.source, []).append(field.name)
    return ByValue({source: tuple(names) for source, names in outputs.items()})
