"""The bounds every reader enforces before it allocates, and the rejection over one.

Each bound is a setting (``AGROLAKE_MAX_COLUMNS`` …, docs/limits.md); readers
receive them as one small, picklable object so the workbook child gets them too.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from agrolake.errors import FileRejected
from agrolake.lake.settings import Settings

MB = 1024 * 1024


def _default(name: str) -> Any:
    """The setting's default: the defaults are written once, on the settings."""
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ReaderLimits:
    """The reader bounds of one settings object (field names are the settings' names)."""

    max_columns: int = _default("max_columns")
    max_cells: int = _default("max_cells")
    max_line_kb: int = _default("max_line_kb")
    max_workbook_cells: int = _default("max_workbook_cells")
    max_uncompressed_mb: float = _default("max_uncompressed_mb")
    max_shared_strings_mb: float = _default("max_shared_strings_mb")
    max_zip_ratio: float = _default("max_zip_ratio")
    max_json_mb: float = _default("max_json_mb")
    max_row_group_mb: float = _default("max_row_group_mb")
    reader_memory_mb: int = _default("reader_memory_mb")
    reader_timeout_seconds: float = _default("reader_timeout_seconds")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReaderLimits:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    @property
    def max_line_bytes(self) -> int:
        return self.max_line_kb * 1024

    def bytes_of(self, name: str) -> int:
        """A limit given in MB (``max_json_mb``…) in bytes."""
        return int(getattr(self, name) * MB)


def over_limit(code: str, found: str, name: str, limit: str, **facts: Any) -> FileRejected:
    """The rejection of a file over the limit ``name``: one line naming the setting.

    ``found`` says what the file holds ("the header has 5,000 columns"), ``limit``
    the bound in the same words ("4,096").
    """
    setting = f"AGROLAKE_{name.upper()}"
    return FileRejected(
        f"{found}, over the limit of {limit} ({setting})", code=code, setting=setting, **facts
    )


def check_columns(columns: int, limits: ReaderLimits, where: str, **facts: Any) -> None:
    """``where`` ("the table", "sheet 'Hoja1'") has no more columns than the limit."""
    if columns > limits.max_columns:
        raise over_limit(
            "too_many_columns",
            f"{where} has {columns:,} columns",
            "max_columns",
            f"{limits.max_columns:,}",
            columns=columns,
            **facts,
        )
