"""How landing read a file, recorded on its ingest so trusted reads it the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UTF8 = ("utf-8", "utf8", "ascii")


@dataclass(frozen=True)
class ReadOptions:
    """A file's format, and for delimited text its encoding and delimiter."""

    format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None

    @classmethod
    def from_details(cls, details: dict[str, Any] | None) -> ReadOptions:
        """From an ingest's ``details`` (the keys every release has stored)."""
        details = details or {}
        return cls(
            str(details.get("format", "csv")), details.get("encoding"), details.get("delimiter")
        )

    def as_details(self) -> dict[str, str]:
        found = {"format": self.format, "encoding": self.encoding, "delimiter": self.delimiter}
        return {k: v for k, v in found.items() if v is not None}

    @property
    def utf8(self) -> bool:
        return (self.encoding or "utf-8").replace("_", "-").lower() in UTF8
