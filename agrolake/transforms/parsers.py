"""Parsers from cleaned text to typed values: polars expressions, row-wise, pure.

Each takes the cleaned text of a cell (trimmed, null markers null: ``clean_text``)
and gives the typed value, or null when the text is not one; a caller tells a
failed parse from an empty cell by comparing with the text. Nothing here sorts,
groups or collects, so a cleaning made of them streams and gives the same answer
on any batch of a file as on the whole file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

Parser = Callable[[pl.Expr], pl.Expr]
Decimal = Literal["auto", ".", ","]

# Compared after trimming and upper-casing; "NAN" is how exports spell a missing float.
NULL_MARKERS: tuple[str, ...] = ("NP", "NAN", "NULL", "")
# "true"/"false" too: fastexcel writes a boolean cell read as text that way.
TRUE_WORDS = ("s", "si", "sí", "true")
FALSE_WORDS = ("n", "no", "false")
# yyyy-mm-dd with an optional time, as fastexcel renders a date cell read as text.
ISO_DATE = r"^(\d{4}-\d{1,2}-\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
DMY_DATE = r"^(\d{1,2}/\d{1,2}/\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
ISO_DATETIME = r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
DMY_DATETIME = r"^\d{1,2}/\d{1,2}/\d{4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"
# Whole floats beyond 2**53 are not exact integers any more.
MAX_EXACT_FLOAT = 2.0**53
INT32 = pl.Int32()


def clean_text(value: pl.Expr, null_markers: Sequence[str] = NULL_MARKERS) -> pl.Expr:
    """Trimmed text, with the null markers of the exports ("NP", "NULL", "NaN", blank) null."""
    trimmed = value.str.strip_chars()
    markers = [m.strip().upper() for m in null_markers]
    return pl.when(trimmed.str.to_uppercase().is_in(markers)).then(None).otherwise(trimmed)


def parse_float(text: pl.Expr, decimal: Decimal = "auto") -> pl.Expr:
    """A finite float.

    ``auto``: a lone decimal comma ("0,75") counts as a point; text with both a
    comma and a point (or several commas) is ambiguous about thousands
    separators, so it is left to fail rather than guessed. ``","``: the Spanish
    way, points group thousands ("1.234,5"). ``"."``: commas group thousands
    ("1,234.5").
    """
    if decimal == ",":
        number = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    elif decimal == ".":
        number = text.str.replace_all(",", "", literal=True)
    else:
        lone_comma = (text.str.count_matches(",", literal=True) == 1) & ~text.str.contains(
            ".", literal=True
        )
        number = pl.when(lone_comma).then(text.str.replace(",", ".", literal=True)).otherwise(text)
    value = number.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def parse_int(text: pl.Expr, dtype: pl.DataType = INT32, decimal: Decimal = "auto") -> pl.Expr:
    """An integer of ``dtype``; whole numbers written as floats ("2022.0", "4,0") count.

    Spreadsheets store every number as a float, so exports often print ids
    and counts with a decimal part; anything not whole or out of range fails.
    """
    number = parse_float(text, decimal)
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


def parse_date(text: pl.Expr, formats: Sequence[str] = ()) -> pl.Expr:
    """A day: in one of ``formats`` (strptime), else dd/mm/yyyy (the Spanish exports) or
    yyyy-mm-dd, either with an optional time.

    The time is dropped: these columns are days, and a workbook date cell read
    as text comes as "2021-01-06 00:00:00".
    """
    if formats:
        return pl.coalesce([text.str.to_date(f, strict=False) for f in formats])
    dmy = text.str.extract(DMY_DATE, 1).str.to_date("%d/%m/%Y", strict=False)
    iso = text.str.extract(ISO_DATE, 1).str.to_date("%Y-%m-%d", strict=False)
    return pl.coalesce(dmy, iso)


def parse_datetime(text: pl.Expr, formats: Sequence[str] = ()) -> pl.Expr:
    """A moment (no time zone, microseconds): in one of ``formats``, else ISO 8601 or
    dd/mm/yyyy, with an optional time (midnight without one)."""
    if formats:
        parsed = [text.str.to_datetime(f, time_unit="us", strict=False) for f in formats]
        return pl.coalesce(parsed)
    iso = text.str.replace("T", " ", literal=True)
    dmy = pl.when(text.str.contains(DMY_DATETIME)).then(text)
    return pl.coalesce(
        _first_datetime(
            pl.when(text.str.contains(ISO_DATETIME)).then(iso),
            ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"),
        ),
        _first_datetime(dmy, ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")),
    )


def _first_datetime(text: pl.Expr, formats: Sequence[str]) -> pl.Expr:
    return pl.coalesce([text.str.to_datetime(f, time_unit="us", strict=False) for f in formats])


def parse_time(text: pl.Expr) -> pl.Expr:
    """A time of day as "HH:MM" ("6:40" → "06:40"; an hour alone counts), or null."""
    parts = text.str.extract_groups(r"^(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?$")
    hour = parts.struct.field("h").cast(pl.Int32, strict=False)
    minute = parts.struct.field("m").fill_null("00").cast(pl.Int32, strict=False)
    valid = hour.is_between(0, 24) & minute.is_between(0, 59) & ~((hour == 24) & (minute > 0))
    shown = pl.format(
        "{}:{}", hour.cast(pl.String).str.zfill(2), minute.cast(pl.String).str.zfill(2)
    )
    return pl.when(valid).then(shown)


def parse_upper(text: pl.Expr) -> pl.Expr:
    """Codes compared in upper case (station ids, product codes)."""
    return text.str.to_uppercase()


def parse_lower(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase()


def parse(
    text: pl.Expr,
    dtype: pl.DataType,
    *,
    decimal: Decimal = "auto",
    formats: Sequence[str] = (),
) -> pl.Expr:
    """The parser of a trusted dtype applied to cleaned text."""
    if dtype == pl.String():
        return text
    if dtype == pl.Float64():
        return parse_float(text, decimal)
    if dtype.is_integer():
        return parse_int(text, dtype, decimal)
    if dtype == pl.Boolean():
        return parse_bool(text)
    if dtype == pl.Date():
        return parse_date(text, formats)
    if isinstance(dtype, pl.Datetime):
        return parse_datetime(text, formats)
    raise ValueError(f"no parser for {dtype}")


@dataclass(frozen=True)
class NamedParser:
    """A parser a declaration names (``parser: sigpac_enclosure``), with the type it makes
    and the name of the check a failed parse reports (``type:<kind>``)."""

    parse: Parser
    kind: str | None = None
    description: str = ""
