"""SIGPAC identifiers: enclosures (recintos) and municipalities, in one canonical form.

An enclosure id is the composite
``<province>-<municipality>-<aggregate>-<zone>-<polygon>-<parcel>-<enclosure>``
of integers without leading zeros ("44-4-0-0-34-134-1"); a municipality (a
weather location) is its first two parts ("44-4"). Exports write them padded
("044 - 4-0-0-34-134-01") or as seven columns; every form becomes the canonical
one, so equal enclosures give equal strings and tables join on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

# Seven unsigned integers joined by dashes (ASCII digits: \d would take any script's).
ENCLOSURE_PATTERN = r"^[0-9]+(?:-[0-9]+){6}$"
MUNICIPALITY_PATTERN = r"^[0-9]+-[0-9]+$"


def _canonical(text: pl.Expr, pattern: str) -> pl.Expr:
    """String rewrites rather than capture groups and casts: this runs on every row of
    the largest files, and a struct of seven groups costs seven regex passes."""
    compact = text.str.replace_all(r"\s*-\s*", "-")
    unpadded = compact.str.replace_all(r"(^|-)0+([0-9])", "${1}${2}")
    return pl.when(compact.str.contains(pattern)).then(unpadded)


def parse_enclosure_id(text: pl.Expr) -> pl.Expr:
    """A composite SIGPAC id in canonical form: "044 - 4-0-0-34-134-01" → "44-4-0-0-34-134-1"."""
    return _canonical(text, ENCLOSURE_PATTERN)


def parse_municipality_id(text: pl.Expr) -> pl.Expr:
    """``"050 - 073"`` → ``"50-73"``: a municipality id in canonical form, or null."""
    return _canonical(text, MUNICIPALITY_PATTERN)


def join_enclosure(parts: Sequence[pl.Expr]) -> pl.Expr:
    """The composite id of seven integer parts; null unless all are there and ≥ 0.

    Negative parts are refused: their minus sign would read as a separator.
    """
    complete = pl.all_horizontal(p >= 0 for p in parts)
    return pl.when(complete).then(pl.concat_str([p.cast(pl.String) for p in parts], separator="-"))
