"""``agrolake maintain``: every table compacted, checkpointed and vacuumed, keeping each
version that must stay readable (``readable.pinned_versions``).

Maintenance never races a writer into a lost commit: compaction commits like any
writer (delta-rs checks it against concurrent commits, and the loser tries again on
the new snapshot), a checkpoint only summarises a committed version, and the vacuum
leaves files younger than an hour (a writer's before its commit) and every file a kept
version reads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agrolake.datasets.registry import load_registry
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.table_upkeep import Upkeep, maintain_table
from agrolake.lake.tables import TableRef, parse_table, table_properties
from agrolake.maintenance.readable import Pins, pinned_versions

#: Files no version references are a writer's until it commits: left alone this long.
UNCOMMITTED_GRACE = timedelta(hours=1)


@dataclass
class MaintenanceReport:
    """What ``maintain`` did (or would do, in a dry run)."""

    dry_run: bool
    keep_days: float
    cutoff: datetime
    tables: list[Upkeep] = field(default_factory=list)
    pins: Pins = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape (docs/cli.md)."""
        return {
            "dry_run": self.dry_run,
            "keep_days": self.keep_days,
            "cutoff": self.cutoff.isoformat(),
            "removed_files": sum(len(t.removed_files) for t in self.tables),
            "removed_bytes": sum(t.removed_bytes for t in self.tables),
            "seconds": round(self.seconds, 3),
            "tables": [
                {
                    **t.as_dict(),
                    "pinned": {
                        str(v): why for v, why in sorted(self.pins.get(t.table, {}).items())
                    },
                    "removed": t.removed_files,
                }
                for t in self.tables
            ],
        }

    def lines(self) -> list[str]:
        """One line per table, then (dry run) every file it would remove."""
        would = "would " if self.dry_run else ""
        lines = []
        for t in self.tables:
            kept = ", ".join(
                f"v{v}"
                + (
                    f" ({'; '.join(self.pins[t.table][v])})"
                    if v in self.pins.get(t.table, {})
                    else ""
                )
                for v in t.kept_versions
            )
            lines.append(
                f"{t.table} v{t.version_before}: {t.files_before} files; {would}compact "
                f"{t.compacted_files}, {would}remove {len(t.removed_files)} files "
                f"({t.removed_bytes / 1e6:.1f} MB) and {t.removed_log_entries} log entries; "
                f"keeps {kept}"
                + ("" if self.dry_run else f"; now v{t.version_after}, {t.files_after} files")
            )
            if self.dry_run:
                lines += [f"  {t.table}: {path}" for path in t.removed_files]
        total = sum(t.removed_bytes for t in self.tables)
        lines.append(
            f"maintain: {len(self.tables)} tables, {would}remove "
            f"{sum(len(t.removed_files) for t in self.tables)} files ({total / 1e6:.1f} MB) "
            f"({self.seconds:.1f} s)"
        )
        return lines


def lake_tables(lake: Lake) -> list[TableRef]:
    """Every table of the lake: the declared ones and any other agrolake wrote."""
    found = {ref.sql_name: ref for ref in load_registry(lake.settings).table_refs()}
    for name, table_id in lake.catalog.lineage.tables().items():
        zone, _, _ = name.partition(".")
        if name not in found and table_id and zone in ("trusted", "refined"):
            found[name] = TableRef("trusted" if zone == "trusted" else "refined", table_id)
    return sorted(found.values(), key=lambda r: r.sql_name)


def maintain(
    lake: Lake,
    tables: Sequence[str] | None = None,
    *,
    dry_run: bool = False,
    grace: timedelta = UNCOMMITTED_GRACE,
    on_progress: ProgressCallback = no_progress,
) -> MaintenanceReport:
    """Maintain every table (or the named ones): compaction, a checkpoint, a vacuum and a
    log cleanup that keep the last ``AGROLAKE_KEEP_VERSIONS_DAYS`` days and every version
    models and lineage point to readable. ``dry_run`` changes nothing."""
    started = time.perf_counter()
    keep_days = lake.settings.keep_versions_days
    cutoff = datetime.now(UTC) - timedelta(days=keep_days)
    known = lake_tables(lake)
    chosen = known if tables is None else [parse_table(name, known) for name in tables]
    report = MaintenanceReport(dry_run, keep_days, cutoff)
    on_progress("what models and lineage keep", 0, len(chosen))
    report.pins = pinned_versions(lake)
    properties = table_properties(lake.settings)
    for done, ref in enumerate(chosen):
        on_progress(ref.sql_name, done, len(chosen))
        if lake.tables.version(ref) is None:
            continue  # never written
        upkeep = maintain_table(
            lake.tables, lake.store, ref, report.pins.get(ref.sql_name, {}),
            properties=properties, keep_for=timedelta(days=keep_days), grace=grace,
            dry_run=dry_run,
        )  # fmt: skip
        report.tables.append(upkeep)
        if not dry_run:
            lake.catalog.upkeep.record(ref.sql_name, upkeep.version_after, upkeep.as_dict())
    on_progress("", len(chosen), len(chosen))
    report.seconds = time.perf_counter() - started
    return report


def maintain_due(lake: Lake) -> MaintenanceReport | None:
    """Maintain the tables with ``AGROLAKE_MAINTAIN_AFTER_COMMITS`` commits or more since
    their last maintenance (from the catalog: two queries when none is due)."""
    every = lake.settings.maintain_after_commits
    if not every:
        return None
    written = lake.catalog.upkeep.latest_written()
    done = lake.catalog.upkeep.maintained()
    due = [t for t, v in sorted(written.items()) if v - done.get(t, 0) >= every]
    return maintain(lake, due) if due else None
