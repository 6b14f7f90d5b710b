"""What travels across the catalog boundary: typed records, not rows of strings.

An :class:`Ingest` is one landing object's journey; its ``status`` is a
:class:`Status`. Landing records an outcome with a :class:`RawRecord`,
:class:`DuplicateRecord` or :class:`InvalidRecord`; the reader options it
detected reach trusted as :class:`ReadOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from agrolake.lake.read_options import ReadOptions

__all__ = [
    "FINISHED",
    "DuplicateRecord",
    "Ingest",
    "InvalidRecord",
    "RawRecord",
    "ReadOptions",
    "Status",
]


class Status(StrEnum):
    """Where an ingest is. ``raw`` to ``trusted`` is the trusted zone's step."""

    CLAIMED = "claimed"  # a worker is taking it from landing
    RAW = "raw"  # its bytes are in raw
    INVALID = "invalid"  # rejected, in landing-zone/invalid/ with a reason
    DUPLICATE = "duplicate"  # the same bytes were already in raw
    REPLAYED = "replayed"  # a rejected file put back in landing (a new ingest follows)
    TRUSTED = "trusted"  # its rows reached the trusted tables
    FAILED = "failed"  # trusted gave it up after its attempts (reason kept; `agrolake retry`)


#: Past landing: the landing object can be deleted once one of these is recorded.
FINISHED = frozenset({Status.RAW, Status.INVALID, Status.DUPLICATE, Status.TRUSTED, Status.FAILED})


@dataclass(frozen=True)
class Ingest:
    """One landing object version's journey through the zones."""

    ingest_id: str
    landing_key: str
    landing_version: str
    original_name: str
    size: int
    status: Status
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    failures: int = 0
    sha256: str | None = None
    dataset: str | None = None
    source: str | None = None
    contract_version: int | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    raw_key: str | None = None
    invalid_key: str | None = None
    duplicate_of: str | None = None
    claimed_by: str | None = None
    lease_until: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Ingest:
        values = dict(row._mapping)
        values["status"] = Status(values["status"])
        values["details"] = values.get("details") or {}
        return cls(**values)

    @property
    def read_options(self) -> ReadOptions:
        return ReadOptions.from_details(self.details)

    @property
    def trusted_stats(self) -> dict[str, dict[str, Any]]:
        """Rows and quarantined rows per trusted table, once trusted."""
        stats: dict[str, dict[str, Any]] = self.details.get("trusted", {})
        return stats


@dataclass(frozen=True)
class RawRecord:
    """Landing's outcome for a file copied to raw."""

    sha256: str
    dataset: str
    source: str
    contract_version: int
    raw_key: str
    read_options: ReadOptions


@dataclass(frozen=True)
class DuplicateRecord:
    """Landing's outcome for bytes already in raw under another ingest."""

    sha256: str
    dataset: str
    source: str
    duplicate_of: str
    reason: str


@dataclass(frozen=True)
class InvalidRecord:
    """Landing's outcome for a rejected file: where it is and the reason report."""

    sha256: str | None
    reason: str
    report: dict[str, Any]
    invalid_key: str
    dataset: str | None = None
