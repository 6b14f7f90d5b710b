"""How landing read a file, recorded on its ingest so trusted reads it the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UTF8 = ("utf-8", "utf8", "ascii")
#: ``newline`` of a text file some of whose lines end with a lone CR (classic Mac,
#: Excel for Mac's "CSV (Macintosh)"): polars splits rows on LF only.
LONE_CR = "cr"


@dataclass(frozen=True)
class ReadOptions:
    """A file's format, and for delimited text its encoding, delimiter and line ends."""

    format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None
    newline: str | None = None  # None: LF or CRLF; LONE_CR: some lines end with a lone CR

    @classmethod
    def from_details(cls, details: dict[str, Any] | None) -> ReadOptions:
        """From an ingest's ``details`` (the keys every release has stored)."""
        details = details or {}
        return cls(
            str(details.get("format", "csv")),
            details.get("encoding"),
            details.get("delimiter"),
            details.get("newline"),
        )

    def as_details(self) -> dict[str, str]:
        found = {
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "newline": self.newline,
        }
        return {k: v for k, v in found.items() if v is not None}

    @property
    def utf8(self) -> bool:
        return (self.encoding or "utf-8").replace("_", "-").lower() in UTF8

    @property
    def transcoded(self) -> bool:
        """Whether the reader rewrites the text (UTF-8, LF line ends) for polars to read it."""
        return self.format == "csv" and (not self.utf8 or self.newline == LONE_CR)
