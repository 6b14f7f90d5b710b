"""Trusted and refined tables: Delta Lake tables in the zone buckets.

A table id is ``<domain>.<name>``; in zone ``trusted`` it lives at
``trusted-zone/<domain>/<name>/`` and SQL knows it as ``trusted.<domain>_<name>``.
Every write returns the new Delta version. Commits that lose a race with
another writer are retried (delta-rs detects the conflict; we try again on the
new snapshot), so concurrent workers never lose a commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from agrolake.errors import StorageError, StorageUnavailable, UsageError
from agrolake.lake.settings import Settings, Zone
from agrolake.lake.storage import endpoint_of, refusal

T = TypeVar("T")
SQL_ZONES: tuple[Zone, ...] = ("trusted", "refined")


@dataclass(frozen=True)
class TableRef:
    """A table of a zone: ``TableRef("trusted", "erp.parcels")``."""

    zone: Zone
    id: str

    @property
    def sql_name(self) -> str:
        return f"{self.zone}.{self.id.replace('.', '_', 1)}"

    @property
    def path(self) -> str:
        return self.id.replace(".", "/", 1)

    def __str__(self) -> str:
        return self.sql_name


#: Rows that failed a trusted check, one per (row, check), with the raw value:
#: ``trusted.quarantine_rows``. It exists from ``agrolake init`` on, empty.
QUARANTINE = TableRef("trusted", "quarantine.rows")
QUARANTINE_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("row_index", pa.int64()),
        ("column", pa.string()),
        ("check", pa.string()),
        ("value", pa.string()),
        ("row_json", pa.string()),
        ("_ingest_id", pa.string()),
        ("_ingested_at", pa.timestamp("us", tz="UTC")),
        ("_source", pa.string()),
    ]
)


def quote_name(column: str) -> str:
    """A column in a delta-rs predicate: backticks, a backtick inside doubled."""
    return "`" + column.replace("`", "``") + "`"


def quote_value(value: str) -> str:
    """A string literal in a delta-rs predicate: single quotes, one inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def where_in(column: str, values: Sequence[str]) -> str:
    """``column IN (values)``: the rows of some ingests, say. Predicates are SQL text
    in delta-rs (no bound parameters), so every name and value is quoted here."""
    if not values:
        return "FALSE"
    return f"{quote_name(column)} IN ({', '.join(quote_value(v) for v in values)})"


def where_equal(column: str, value: str) -> str:
    return f"{quote_name(column)} = {quote_value(value)}"


def parse_table(name: str, known: Sequence[TableRef]) -> TableRef:
    """A table from its SQL name (``trusted.erp_parcels``) or zone and id."""
    for ref in known:
        if name in (ref.sql_name, f"{ref.zone}.{ref.id}", ref.id):
            return ref
    names = ", ".join(r.sql_name for r in known)
    raise UsageError(f"no table {name!r}; tables: {names}")


class _CreatedMeanwhile(Exception):
    """Another writer created the table between our look and our write: try again."""


_on_conflict = retry(
    retry=retry_if_exception_type((CommitFailedError, _CreatedMeanwhile)),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    stop=stop_after_attempt(20),
    reraise=True,
)


def table_properties(settings: Settings) -> dict[str, str]:
    """The Delta properties of every agrolake table: old versions stay readable until
    ``agrolake maintain`` decides (docs/tables.md, "Maintenance").

    delta-rs would otherwise delete log entries older than 30 days after each automatic
    checkpoint, and a version whose log is gone cannot be read ("no files in log
    segment") even when its data files were kept for a model. Maintenance cleans the
    log itself, keeping what every version that must stay readable needs.
    """
    days = max(settings.keep_versions_days, 0)
    return {
        "delta.enableExpiredLogCleanup": "false",
        # Only an explicit cleanup_metadata() reads it (agrolake never calls it).
        "delta.logRetentionDuration": "interval 3650 days",
        # Removed files stay listed in checkpoints as long as versions that read them
        # must stay readable.
        "delta.deletedFileRetentionDuration": f"interval {days:g} days",
    }


#: Why an old version cannot be read: its log or its files are gone.
NO_LONGER_READABLE = (
    "is no longer readable: `agrolake maintain` keeps the last AGROLAKE_KEEP_VERSIONS_DAYS "
    "days and the versions models and lineage point to"
)


def _no_version(ref: TableRef, version: int, latest: int) -> str:
    if 0 <= version < latest:
        return f"{ref.sql_name} version {version} {NO_LONGER_READABLE} (latest is {latest})"
    return f"{ref.sql_name} has no version {version} (latest is {latest})"


class Tables:
    """Reads and writes the lake's Delta tables, local folder or S3 alike."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def uri(self, ref: TableRef) -> str:
        bucket = self._settings.bucket(ref.zone)
        if self._settings.uses_s3:
            return f"s3://{bucket}/{ref.path}"
        return str(self._settings.lake_folder / bucket / ref.path)

    @property
    def storage_options(self) -> dict[str, str] | None:
        return self._settings.s3.to_delta() if self._settings.uses_s3 else None

    def open(self, ref: TableRef, version: int | None = None) -> DeltaTable | None:
        """The table (at ``version``), or None if it was never written."""
        try:
            table = DeltaTable(self.uri(ref), storage_options=self.storage_options)
        except TableNotFoundError:
            return None
        except (DeltaError, OSError) as exc:  # the store is out, or refuses the keys
            raise self._refused(exc, "reading", ref) from exc
        if version is not None and version != table.version():
            latest = table.version()
            try:
                table.load_as_version(version)
            except Exception as exc:  # delta-rs raises a generic error for unknown versions
                raise UsageError(_no_version(ref, version, latest)) from exc
        return table

    def version(self, ref: TableRef) -> int | None:
        table = self.open(ref)
        return None if table is None else table.version()

    def dataset(self, ref: TableRef, version: int | None = None) -> pads.Dataset | None:
        table = self.open(ref, version)
        return None if table is None else table.to_pyarrow_dataset()

    def read(self, ref: TableRef, version: int | None = None) -> pa.Table | None:
        dataset = self.dataset(ref, version)
        try:
            return None if dataset is None else dataset.to_table()
        except OSError as exc:
            raise self._refused(exc, "reading", ref) from exc

    def rows(self, ref: TableRef) -> int:
        dataset = self.dataset(ref)
        try:
            return 0 if dataset is None else dataset.count_rows()
        except OSError as exc:
            raise self._refused(exc, "reading", ref) from exc

    def holds_any(self, ref: TableRef, column: str, values: Sequence[str]) -> bool:
        """Whether any row has one of ``values`` in ``column`` (a missing table holds none).

        Files whose statistics rule the values out are not read: new ingest ids, later
        than every id a table holds, cost a look at the log only.
        """
        import pyarrow.compute as pc

        dataset = self.dataset(ref)
        if dataset is None or not values:
            return False
        field = pc.field(column)
        # The range first: files outside it are ruled out by their statistics alone.
        among = (field >= min(values)) & (field <= max(values)) & field.isin(list(values))
        try:
            found = dataset.head(1, columns=[column], filter=among)
        except OSError as exc:
            raise StorageUnavailable(f"reading {ref.sql_name}: {first_line(exc)}") from exc
        return bool(found.num_rows > 0)

    def _write(self, ref: TableRef, action: Callable[[], T]) -> T:
        try:
            return _on_conflict(action)()
        except OSError as exc:  # delta-rs's I/O: the store is out (after its own retries)
            raise self._refused(exc, "writing", ref) from exc
        except (CommitFailedError, _CreatedMeanwhile, DeltaError) as exc:
            what = f"writing {ref.sql_name}"
            bucket = self._settings.bucket(ref.zone)
            refused = refusal(exc, what, bucket, endpoint_of(self._settings))
            raise refused or StorageError(f"{what} failed: {first_line(exc)}") from exc

    def _refused(self, exc: BaseException, verb: str, ref: TableRef) -> StorageError:
        """A missing bucket or a refused key (the set-up's), else an outage."""
        what = f"{verb} {ref.sql_name}"
        bucket = self._settings.bucket(ref.zone)
        refused = refusal(exc, what, bucket, endpoint_of(self._settings))
        return refused or StorageUnavailable(f"{what}: {first_line(exc)}")

    def replace_where(
        self, ref: TableRef, data: Any, predicate: str, partition_by: Sequence[str] = ()
    ) -> int:
        """Replace the rows matching ``predicate`` with ``data``, in one commit.

        The first write creates the table. Re-running the same write leaves the
        same rows: this is how an ingest is written idempotently.
        """

        def write() -> int:
            table = self._ensure(ref, data, partition_by)
            # A predicate write takes the table's schema exactly: new columns are added
            # to the table first, and columns this data lacks are written as nulls.
            _add_new_columns(table, data.schema)
            aligned = _aligned(data, pa.schema(table.schema().to_arrow()))
            write_deltalake(
                table, aligned, mode="overwrite", predicate=predicate,
                partition_by=list(partition_by) or None,
            )  # fmt: skip
            return table.version()

        return self._write(ref, write)

    def ensure(self, ref: TableRef, schema: pa.Schema) -> int:
        """Create the table empty with ``schema`` if it does not exist; its version."""
        return self._write(ref, lambda: self._ensure(ref, schema, ()).version())

    def delete_where(self, ref: TableRef, predicate: str) -> int:
        """Delete the rows matching ``predicate`` (a new version)."""

        def delete() -> int:
            table = self.open(ref)
            if table is None:
                raise UsageError(f"{ref.sql_name} does not exist yet")
            table.delete(predicate)
            return table.version()

        return self._write(ref, delete)

    def overwrite(self, ref: TableRef, data: Any, partition_by: Sequence[str] = ()) -> int:
        """Replace the whole table (a new version; time travel keeps the old one)."""

        def write() -> int:
            table = self._ensure(ref, data, partition_by)
            write_deltalake(
                table, data, mode="overwrite", schema_mode="overwrite",
                partition_by=list(partition_by) or None,
            )  # fmt: skip
            return table.version()

        return self._write(ref, write)

    def merge(
        self,
        ref: TableRef,
        data: pa.Table,
        key: Sequence[str],
        partition_by: Sequence[str] = (),
        *,
        delete_missing: bool = False,
        newer: str | None = None,
    ) -> int:
        """Upsert ``data`` on ``key``; with ``delete_missing``, an exact sync.

        ``newer`` names a column (the ingest id, sortable by time): a matched row
        is replaced only by a source row at least as new, so reprocessing an old
        ingest never overwrites what a later one wrote.
        """

        def write() -> int:
            table = self._ensure(ref, data, partition_by)
            _add_new_columns(table, data.schema)
            predicate = " AND ".join(f"t.{_quote(c)} = s.{_quote(c)}" for c in key)
            merger = (
                table.merge(data, predicate, source_alias="s", target_alias="t")
                .when_matched_update_all(
                    predicate=f"s.{_quote(newer)} >= t.{_quote(newer)}" if newer else None
                )
                .when_not_matched_insert_all()
            )
            if delete_missing:
                merger = merger.when_not_matched_by_source_delete()
            merger.execute()
            return table.version()

        return self._write(ref, write)

    def compact(self, ref: TableRef) -> dict[str, Any]:
        """Rewrite the table's small files into few large ones (a new version, the same
        rows); a commit that loses a race with a writer is tried again on the new snapshot."""

        def compact() -> dict[str, Any]:
            table = self.open(ref)
            if table is None:
                raise UsageError(f"{ref.sql_name} does not exist yet")
            metrics: dict[str, Any] = table.optimize.compact()
            return metrics

        return self._write(ref, compact)

    def checkpoint(self, ref: TableRef) -> int:
        """A checkpoint at the latest version (readers start there); that version."""

        def checkpoint() -> int:
            table = self.open(ref)
            if table is None:
                raise UsageError(f"{ref.sql_name} does not exist yet")
            table.create_checkpoint()
            return table.version()

        return self._write(ref, checkpoint)

    def set_properties(self, ref: TableRef, properties: dict[str, str]) -> None:
        """Set Delta table properties (a metadata commit)."""

        def alter() -> None:
            table = self.open(ref)
            if table is None:
                raise UsageError(f"{ref.sql_name} does not exist yet")
            table.alter.set_table_properties(properties)

        self._write(ref, alter)

    def _ensure(self, ref: TableRef, data: Any, partition_by: Sequence[str]) -> DeltaTable:
        """The table, created empty (version 0) with the data's schema if it is new.

        Data is never written by the create itself: two writers racing to create
        a table would otherwise both commit their rows as plain appends. The
        loser of the race retries and finds the table. Every write then returns
        the version of its own commit (the DeltaTable object follows it), not
        the latest, which another writer may already have moved on.
        """
        table = self.open(ref)
        if table is not None:
            return table
        schema = data.schema if hasattr(data, "schema") else pa.schema(data)
        try:
            return DeltaTable.create(
                self.uri(ref), schema, mode="error", partition_by=list(partition_by) or None,
                storage_options=self.storage_options,
                configuration=table_properties(self._settings),
            )  # fmt: skip
        except (DeltaError, CommitFailedError) as exc:
            what, bucket = f"creating {ref.sql_name}", self._settings.bucket(ref.zone)
            if refused := refusal(exc, what, bucket, endpoint_of(self._settings)):
                raise refused from exc  # not a race another writer won: no retry helps
            raise _CreatedMeanwhile(ref.sql_name) from exc


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def first_line(exc: BaseException) -> str:
    """A delta-rs error as one line: its colour codes and nested causes left out."""
    lines = [ANSI.sub("", line).strip(" ↳") for line in str(exc).splitlines()]
    meaningful = [line for line in lines if line and line != "Kernel error -> Generic S3 error"]
    return (meaningful[0] if meaningful else type(exc).__name__)[:300]


def _quote(column: str) -> str:
    return quote_name(column)


def _aligned(data: pa.Table, schema: pa.Schema) -> pa.Table:
    """``data`` with ``schema``'s columns in its order: missing ones null, types cast."""
    columns = [
        data.column(f.name).cast(f.type)
        if f.name in data.column_names
        else pa.nulls(data.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _add_new_columns(table: DeltaTable, schema: pa.Schema) -> None:
    """Schema evolution for MERGE: new source columns become nullable table columns."""
    present = set(pa.schema(table.schema().to_arrow()).names)
    new = [schema.field(i).with_nullable(True) for i in range(len(schema.names))]
    new = [f for f in new if f.name not in present]
    if new:
        from deltalake.schema import Field

        table.alter.add_columns([Field.from_arrow(f) for f in new])
