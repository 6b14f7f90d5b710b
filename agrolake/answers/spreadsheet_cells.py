"""Text cells a spreadsheet shows as text: CSV leaves the lake for Excel, LibreOffice and
Sheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR as a
formula (``=HYPERLINK(…)``, ``=cmd|…``). Such a cell gets a leading quote, as OWASP's
advice on CSV injection says; plain signed numbers such as ``-4`` stay numbers."""

from __future__ import annotations

import re

import polars as pl

#: A cell starting with one of these is a formula to Excel, LibreOffice and Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$"
PLAIN_NUMBER = re.compile(_PLAIN_NUMBER)
_FORMULA = "^[=+\\-@\t\r]"


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it: as text, never run."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell and column name made safe; other types stay."""
    escaped = [
        pl.when(pl.col(name).str.contains(_FORMULA) & ~pl.col(name).str.contains(_PLAIN_NUMBER))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, kind in frame.schema.items()
        if kind == pl.String
    ]
    safe = frame.with_columns(escaped) if escaped else frame
    return safe.rename({name: safe_cell(name) for name in frame.columns})
