"""How column names are compared and turned into table column names, and which
landing keys are files waiting to be processed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def normalise(column: str) -> str:
    """Column names as compared: trimmed, unquoted, blanks folded, case-insensitive."""
    return " ".join(column.strip().strip('"').split()).casefold()


def snake_case(column: str) -> str:
    """``Descripción UHC`` → ``descripcion_uhc``: ASCII snake case for new table columns."""
    ascii_name = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_name.strip().strip('"'))
    return re.sub(r"[^0-9a-zA-Z]+", "_", words).strip("_").lower() or "column"


#: Where rejected landing files and their reasons go, inside the landing bucket.
INVALID_PREFIX = "invalid/"


def is_pending_landing_key(key: str) -> bool:
    """A landing key a user put there, not a rejected file or a folder marker."""
    return not key.startswith(INVALID_PREFIX) and not key.endswith("/")


def match_sources(present: Iterable[str], sources: Iterable[str]) -> dict[str, str | None]:
    """The column of ``present`` that plays each source (None when absent).

    Headers match trimmed, unquoted and in any case (``normalise``); of two that
    match, the first wins.
    """
    by_name: dict[str, str] = {}
    for column in present:
        by_name.setdefault(normalise(column), column)
    return {source: by_name.get(normalise(source)) for source in dict.fromkeys(sources)}


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (ESC, BEL, tab, newline…) shown as
    escapes, so a file name cannot move the cursor, clear the screen or forge a line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
