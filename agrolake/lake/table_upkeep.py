"""One Delta table kept fast and small: compaction, a checkpoint, a vacuum that keeps
chosen versions readable, and a log cleanup that keeps their log.

Which versions must stay readable is the caller's decision (``agrolake.maintenance``);
here, for a table and that set:

* **properties** (``agrolake.lake.tables.table_properties``): delta-rs deletes no log
  entry by itself;
* **compaction** (delta-rs ``optimize.compact``): the small files of each partition into
  large ones, a commit checked against concurrent writers like any other;
* **checkpoint** at the latest version, so readers start there;
* **vacuum**: the files no kept version references (delta-rs lists them: a full vacuum
  in dry run, with the kept versions), written before the cutoff and before the grace
  given to writers: a writer's new files are referenced by no version until it commits,
  and a version newer than the cutoff reads only files written after the version current
  at the cutoff (kept) or after the cutoff;
* **log cleanup**: log entries before the newest checkpoint at or before the oldest kept
  version (readers of a kept version start from that checkpoint). delta-rs's own
  ``cleanup_metadata`` goes by age only and would drop a pinned version's log.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agrolake.errors import StorageUnavailable, UsageError
from agrolake.lake.storage import ObjectInfo, ObjectStore
from agrolake.lake.tables import TableRef, Tables, first_line

LOG_ENTRY = re.compile(r"^(\d{20})\.")


@dataclass
class Upkeep:
    """What maintenance did (or, in a dry run, would do) to one table."""

    table: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    bytes_before: int
    properties_set: dict[str, str] = field(default_factory=dict)
    compacted_files: int = 0  # small files rewritten (would be: small files in a partition)
    checkpoint: int | None = None
    kept_versions: list[int] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    removed_log_entries: int = 0

    def as_dict(self) -> dict[str, Any]:
        facts = asdict(self)
        facts["removed_files"] = len(self.removed_files)
        return facts


def maintain_table(
    tables: Tables,
    store: ObjectStore,
    ref: TableRef,
    keep: Collection[int],
    *,
    properties: dict[str, str],
    keep_for: timedelta,
    grace: timedelta,
    dry_run: bool = False,
) -> Upkeep:
    """Compact, checkpoint, vacuum and clean the log of ``ref``, keeping every version in
    ``keep`` and every version of the last ``keep_for`` readable (counted back from the
    vacuum, after the compaction); unreferenced files younger than ``grace`` are a
    writer's before its commit and stay. ``dry_run`` changes nothing."""
    table = tables.open(ref)
    if table is None:
        raise UsageError(f"{ref.sql_name} does not exist yet")
    before = _files(table)
    upkeep = Upkeep(
        ref.sql_name, table.version(), table.version(), len(before), len(before),
        sum(before.values()),
    )  # fmt: skip
    current = table.metadata().configuration
    upkeep.properties_set = {k: v for k, v in properties.items() if current.get(k) != v}
    if dry_run:
        upkeep.compacted_files = _small_files(table)
    else:
        if upkeep.properties_set:
            tables.set_properties(ref, upkeep.properties_set)
        metrics = tables.compact(ref)
        upkeep.compacted_files = int(metrics.get("numFilesRemoved", 0))
        upkeep.checkpoint = tables.checkpoint(ref)
        table = tables.open(ref)
        assert table is not None
    latest = table.version()
    now = datetime.now(UTC)
    cutoff = now - keep_for
    kept = {v for v in keep if v <= latest} | {_current_at(tables, ref, cutoff, latest)}
    upkeep.kept_versions = sorted(kept)
    _vacuum(table, store, ref, upkeep, before=min(cutoff, now - grace), dry_run=dry_run)
    _clean_log(store, ref, upkeep, oldest=min(kept), dry_run=dry_run)
    if not dry_run:
        after = tables.open(ref)
        assert after is not None
        upkeep.version_after = after.version()
        upkeep.files_after = len(_files(after))
    return upkeep


def _actions(table: Any) -> dict[str, list[Any]]:
    """The table's add actions (its files) as columns: path, size_bytes, partition.*."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = pa.table(table.get_add_actions(flatten=True)).to_pydict()
    return columns  # (delta-rs gives an arro3 table)


def _files(table: Any) -> dict[str, int]:
    """The files of the table's version: path → bytes."""
    actions = _actions(table)
    return dict(zip(actions["path"], actions["size_bytes"], strict=True))


def _small_files(table: Any) -> int:
    """Files compaction would rewrite: those of partitions holding more than one."""
    actions = _actions(table)
    parts = [c for c in actions if c.startswith("partition.")]
    count: dict[tuple[Any, ...], int] = {}
    for i in range(len(actions["path"])):
        key = tuple(actions[c][i] for c in parts)
        count[key] = count.get(key, 0) + 1
    return sum(n for n in count.values() if n > 1)


def _current_at(tables: Tables, ref: TableRef, cutoff: datetime, latest: int) -> int:
    """The version readers saw at ``cutoff`` (kept: a version since reads its files)."""
    table = tables.open(ref)
    assert table is not None
    try:
        table.load_as_version(cutoff)
    except Exception:  # delta-rs: no version that old, the table is younger than the cutoff
        return 0
    return min(table.version(), latest)


def _vacuum(
    table: Any, store: ObjectStore, ref: TableRef, upkeep: Upkeep, *, before: datetime,
    dry_run: bool,
) -> None:  # fmt: skip
    """Delete the files no kept version references, written before ``before``."""
    try:
        unreferenced = table.vacuum(
            retention_hours=0, dry_run=True, enforce_retention_duration=False, full=True,
            keep_versions=upkeep.kept_versions,
        )  # fmt: skip
    except OSError as exc:
        raise StorageUnavailable(f"vacuum of {ref.sql_name}: {first_line(exc)}") from exc
    objects = _objects(store, ref, "")
    old = [
        objects[path]
        for path in sorted(unreferenced)
        if path in objects and objects[path].last_modified < before
    ]
    upkeep.removed_files = [o.key.removeprefix(f"{ref.path}/") for o in old]
    upkeep.removed_bytes = sum(o.size for o in old)
    if not dry_run:
        for info in old:
            store.delete(ref.zone, info.key)


def _clean_log(
    store: ObjectStore, ref: TableRef, upkeep: Upkeep, *, oldest: int, dry_run: bool
) -> None:
    """Delete the log before the newest checkpoint at or before the oldest kept version."""
    entries = _objects(store, ref, "_delta_log/")
    versions = {name: int(m.group(1)) for name in entries if (m := LOG_ENTRY.match(name))}
    checkpoints = [v for name, v in versions.items() if ".checkpoint." in name and v <= oldest]
    if not checkpoints:
        return  # a kept version needs the log from its start
    floor = max(checkpoints)
    stale = [entries[name] for name, v in versions.items() if v < floor]
    upkeep.removed_log_entries = len(stale)
    if not dry_run:
        for info in stale:
            store.delete(ref.zone, info.key)


def _objects(store: ObjectStore, ref: TableRef, under: str) -> dict[str, ObjectInfo]:
    """The table's objects under ``under`` (its folder, or its log), by relative name."""
    prefix = f"{ref.path}/{under}"
    found = {}
    for info in store.list(ref.zone, prefix=prefix):
        name = info.key.removeprefix(prefix)
        if under or not name.startswith("_delta_log/"):
            found[name] = info
    return found
