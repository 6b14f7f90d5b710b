"""Raw → trusted: each raw ingest cleaned, typed and validated into Delta tables.

Rows that fail the trusted checks go to the quarantine table with the failing
column, check and value; the others proceed. Keyed datasets are MERGEd on their
business key (the latest ingest wins); others replace the rows of their ingest.
Writing an ingest again leaves the same rows: re-processing never duplicates.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from agrolake.datasets.model import Dataset, Table
from agrolake.datasets.registry import Registry, load_registry
from agrolake.errors import AgrolakeError
from agrolake.lake import Lake
from agrolake.lake.catalog import FAILED, RAW, TRUSTED, Ingest, ReadOptions
from agrolake.lake.catalog.heartbeat import Heartbeat
from agrolake.lake.overlap import overlapped
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.spool import spool as spool_folder
from agrolake.lake.tables import QUARANTINE, TableRef, where_equal, where_in
from agrolake.readers import ReaderLimits, read_frame
from agrolake.zones.trusted_batch import clean_together
from agrolake.zones.trusted_cleaning import Cleaned, clean_ingest

RETRY_AFTER = timedelta(minutes=1)  # a failed ingest waits, so the others go first


@dataclass(frozen=True)
class TableWrite:
    """One table version written."""

    table: str
    version: int
    rows: int
    quarantined: int = 0


@dataclass
class TrustedSummary:
    ingests: list[str] = field(default_factory=list)
    writes: list[TableWrite] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # tried again by a later run
    given_up: dict[str, str] = field(default_factory=dict)  # failed its last attempt
    warnings: list[str] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)  # other live workers' claims
    stopped: str | None = None  # an outage stopped trusted: why
    seconds: float = 0.0

    def line(self) -> str:
        rows = sum(w.rows for w in self.writes)
        quarantined = sum(w.quarantined for w in self.writes)
        tables = len({w.table for w in self.writes})
        failed = f", {len(self.failed)} failed" if self.failed else ""
        failed += f", {len(self.given_up)} given up" if self.given_up else ""
        line = (
            f"trusted: {len(self.ingests)} ingests → {rows} rows in {tables} tables, "
            f"{quarantined} quarantined{failed} ({self.seconds:.1f} s)"
        )
        if self.waiting:
            holders = ", ".join(sorted(self.waiting))
            line += f"; waiting for {sum(self.waiting.values())} ingests claimed by {holders}"
        return line


def process_trusted(
    lake: Lake,
    ingest_ids: list[str] | None = None,
    *,
    registry: Registry | None = None,
    on_progress: ProgressCallback = no_progress,
) -> TrustedSummary:
    """Take every raw ingest not yet in trusted (or the given ones) into the trusted tables.

    ``on_progress("trusted", done, total)`` counts ingests (total: those waiting at
    the start; more may come, as the total then grows)."""
    started = time.perf_counter()
    summary = TrustedSummary()
    lease = timedelta(seconds=lake.settings.lease_seconds)
    tried: set[str] = set()
    registry = registry or load_registry(lake.settings)
    # Ingests of a dataset no longer declared (or disabled) wait in raw until it is again.
    datasets = [d.id for d in registry.enabled]
    heartbeat = Heartbeat(lake.catalog, lake.worker, lease)
    try:
        lake.catalog.expire_gone_workers()
        total = (
            lake.catalog.count_by_status().get(RAW, 0) if ingest_ids is None else len(ingest_ids)
        )
        done = 0
        with spool_folder("trusted") as spool, heartbeat.running():
            # Oldest first, so "the latest ingest wins" holds on business keys; small
            # ingests of one dataset go together, one commit per table for the batch
            # (a Delta commit costs more than cleaning a small file); the claims not in
            # the batch are given back at once, so other workers share the rest.
            while claimed := lake.catalog.claim_stage(
                RAW, lake.worker, lease, ingest_ids, limit=BATCH_INGESTS, datasets=datasets
            ):
                batch = _batch(claimed)
                lake.catalog.release([i.ingest_id for i in claimed[len(batch) :]], lake.worker)
                if any(i.ingest_id in tried for i in batch):
                    lake.catalog.release([i.ingest_id for i in batch], lake.worker)
                    break  # failed earlier in this run; a later run tries again
                tried.update(i.ingest_id for i in batch)
                heartbeat.hold(i.ingest_id for i in batch)
                try:
                    _trust_batch(lake, registry, batch, Path(spool), summary)
                except AgrolakeError:  # an outage: give back what was not done
                    with suppress(AgrolakeError):
                        lake.catalog.release([i.ingest_id for i in batch], lake.worker)
                    raise
                finally:
                    heartbeat.release(i.ingest_id for i in batch)
                done += len(batch)
                total = max(total, done)
                on_progress("trusted", done, total)
        summary.waiting = lake.catalog.claimed_by_others(lake.worker, RAW)
    except AgrolakeError as exc:
        if not exc.transient:
            raise
        summary.stopped = exc.message
    summary.seconds = time.perf_counter() - started
    return summary


#: At most this many ingests, and this many raw bytes, are cleaned and written together.
BATCH_INGESTS = 1024
BATCH_BYTES = 32 * 1024 * 1024


def _batch(claimed: list[Ingest]) -> list[Ingest]:
    """The oldest claimed ingest and the ones after it of its dataset, within the budget."""
    batch, size = [claimed[0]], claimed[0].size
    for ingest in claimed[1:]:
        size += ingest.size
        if ingest.dataset != batch[0].dataset or size > BATCH_BYTES:
            break
        batch.append(ingest)
    return batch


def _trust_batch(
    lake: Lake,
    registry: Registry,
    batch: list[Ingest],
    spool: Path,
    summary: TrustedSummary,
) -> None:
    dataset = registry.dataset(str(batch[0].dataset))
    cleaned = _clean_batch(lake, dataset, batch, spool, summary)
    if not cleaned:
        return
    try:
        writes = [
            write_ingests(
                lake, table, [(ingest, tables[table.table_name]) for ingest, tables in cleaned]
            )
            for table in dataset.tables
        ]
    except Exception as exc:
        if len(cleaned) == 1:
            _failed(lake, [cleaned[0][0]], exc, summary)
            return
        # One ingest must not hold back the others: write them one by one, so only
        # the one that cannot be written fails (and waits for a later run).
        for ingest, _ in cleaned:
            _trust_batch(lake, registry, [ingest], spool, summary)
        return
    written = []
    for ingest, tables in cleaned:
        stats: dict[str, dict[str, Any]] = {
            TableRef("trusted", t).sql_name: {
                "rows": c.valid.height,
                "quarantined": c.rows_quarantined,
                "quality": c.quality([f.name for f in dataset.table(t).fields]),
            }
            for t, c in tables.items()
        }
        written.append((ingest, stats))
        summary.ingests.append(ingest.ingest_id)
        summary.warnings.extend(
            f"{ingest.original_name}: every row of {table} failed its checks "
            f"({counts['quarantined']} quarantined)"
            for table, counts in stats.items()
            if counts["rows"] == 0 and counts["quarantined"]
        )
    lake.catalog.record_trusted(lake.worker, written)
    summary.writes.extend(writes)


def _clean_batch(
    lake: Lake, dataset: Dataset, batch: list[Ingest], spool: Path, summary: TrustedSummary
) -> list[tuple[Ingest, dict[str, Cleaned]]]:
    """Every ingest of the batch cleaned for each table of its dataset, in one scan and one
    cleaning per table (``clean_together``); one by one if that fails, so that only the
    ingest at fault fails. An ingest whose file cannot be read fails alone."""
    if len(batch) == 1:
        return _clean_one_by_one(lake, dataset, batch, spool, summary)
    # Read in place (local), or fetched to the spool a few at a time (S3).
    located = overlapped(
        lambda i: _raw_file(lake, i) or _spool_raw(lake, i, spool), batch, lake.store.concurrency
    )
    readable: list[tuple[Ingest, dict[str, pl.LazyFrame]]] = []
    limits = ReaderLimits.from_settings(lake.settings)
    for ingest, path in zip(batch, located, strict=True):
        try:
            if isinstance(path, Exception):
                raise path
            frames = {
                t.table_name: _read(path, ingest.read_options, t, limits) for t in dataset.tables
            }
            readable.append((ingest, frames))
        except Exception as exc:  # whatever it is, it is this ingest's, not the batch's
            _failed(lake, [ingest], exc, summary)
    try:
        together = {
            t.table_name: clean_together(
                lake, dataset, t, [(i, f[t.table_name]) for i, f in readable]
            )
            for t in dataset.tables
        }
    except AgrolakeError as exc:
        if exc.transient:
            raise
        return _clean_one_by_one(lake, dataset, [i for i, _ in readable], spool, summary)
    except Exception:
        return _clean_one_by_one(lake, dataset, [i for i, _ in readable], spool, summary)
    finally:
        for path in spool.iterdir():
            path.unlink(missing_ok=True)
    return [(i, {t: c[i.ingest_id] for t, c in together.items()}) for i, _ in readable]


def _clean_one_by_one(
    lake: Lake, dataset: Dataset, ingests: list[Ingest], spool: Path, summary: TrustedSummary
) -> list[tuple[Ingest, dict[str, Cleaned]]]:
    cleaned = []
    for ingest in ingests:
        try:
            cleaned.append((ingest, clean_raw_ingest(lake, dataset, ingest, spool)))
        except Exception as exc:  # whatever it is, it is this ingest's, not the batch's
            _failed(lake, [ingest], exc, summary)
    return cleaned


def _failed(lake: Lake, ingests: list[Ingest], exc: Exception, summary: TrustedSummary) -> None:
    """Record the failure on each ingest (given up at its last attempt); an outage goes
    up instead, to stop the run (and so does a missing bucket or a refused key)."""
    if isinstance(exc, AgrolakeError) and (exc.transient or exc.stops_run):
        raise exc
    if isinstance(exc, AgrolakeError):
        reason = exc.message
    else:  # polars, delta-rs, a bug: named, so the ingest's record says what happened
        reason = f"unexpected {type(exc).__name__}: {_first_line(exc)}"
    for ingest in ingests:
        status = lake.catalog.record_failure(
            ingest.ingest_id, lake.worker, reason, stage=RAW, retry_after=RETRY_AFTER,
            give_up_at=lake.settings.max_attempts,
        )  # fmt: skip
        (summary.given_up if status == FAILED else summary.failed)[ingest.ingest_id] = reason


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"


def clean_raw_ingest(
    lake: Lake, dataset: Dataset, ingest: Ingest, spool: Path
) -> dict[str, Cleaned]:
    """One raw ingest cleaned for each trusted table of its dataset; nothing written."""
    path = _raw_file(lake, ingest) or _spool_raw(lake, ingest, spool)
    limits = ReaderLimits.from_settings(lake.settings)
    try:
        return {
            table.table_name: clean_ingest(
                lake, dataset, table, ingest, _read(path, ingest.read_options, table, limits)
            )
            for table in dataset.tables
        }
    finally:
        if path.parent == spool:
            path.unlink(missing_ok=True)
            path.with_suffix(".utf8.csv").unlink(missing_ok=True)


def _raw_file(lake: Lake, ingest: Ingest) -> Path | None:
    """The raw object as a file to read in place: local backend, nothing written beside it.

    Raw objects never change, so reading one in place saves a copy of the whole
    file (about the time of the floor's read and write). A CSV in another encoding
    than UTF-8, or with lone CR line ends, is transcoded next to the file read, so it goes
    through the spool.
    """
    options = ingest.read_options
    if lake.store.is_s3 or ingest.raw_key is None or options.transcoded:
        return None
    path = lake.store.local_path("raw", ingest.raw_key)
    return path if path.is_file() and path.stat().st_size == ingest.size else None


def _spool_raw(lake: Lake, ingest: Ingest, spool: Path) -> Path:
    path: Path = spool / ingest.ingest_id
    assert ingest.raw_key is not None, "an ingest in raw has its raw key"
    with path.open("wb") as out:
        for chunk in lake.store.stream("raw", ingest.raw_key):
            out.write(chunk)
    return path


def _read(
    path: Path, options: ReadOptions, table: Table, limits: ReaderLimits | None = None
) -> pl.LazyFrame:
    return read_frame(path, options, table.sheet, limits)


def write_ingests(lake: Lake, table: Table, cleaned: list[tuple[Ingest, Cleaned]]) -> TableWrite:
    """Write cleaned ingests (oldest first) into one trusted table, in one commit, and
    their quarantined rows into the quarantine table."""
    ref = TableRef("trusted", table.table_name)
    ids = [ingest.ingest_id for ingest, _ in cleaned]
    valid = pl.concat([c.valid for _, c in cleaned], how="diagonal_relaxed")
    quarantined = [c.quarantined for _, c in cleaned if c.quarantined.height]
    rows_quarantined = sum(c.rows_quarantined for _, c in cleaned)
    if table.write_mode == "merge":
        # Within the batch as across runs: the latest ingest wins on a key.
        latest = valid.unique(subset=list(table.key), keep="last", maintain_order=True)
        version = lake.tables.merge(
            ref, latest.to_arrow(), table.key, table.partition_by, newer="_ingest_id"
        )
        rows = latest.height
    else:
        version = lake.tables.replace_where(
            ref, valid.to_arrow(), where_in("_ingest_id", ids), table.partition_by
        )
        rows = valid.height
    # Replacing this batch's quarantined rows when it has none is only needed if an
    # earlier attempt of one of its ingests left some (a retry): else no commit at all.
    if quarantined or lake.tables.holds_any(QUARANTINE, "_ingest_id", ids):
        q_data = (
            pl.concat(quarantined, how="diagonal_relaxed")
            if quarantined
            else cleaned[0][1].quarantined
        )
        where = f"{where_in('_ingest_id', ids)} AND {where_equal('table', ref.sql_name)}"
        q_version = lake.tables.replace_where(QUARANTINE, q_data.to_arrow(), where)
        lake.catalog.lineage.record(
            QUARANTINE.sql_name, q_version, "replace", rows=q_data.height, ingests=ids,
            table_id=QUARANTINE.id,
        )  # fmt: skip
    lake.catalog.lineage.record(
        ref.sql_name, version, "merge" if table.write_mode == "merge" else "replace",
        rows=rows, quarantined=rows_quarantined, ingests=ids, table_id=ref.id,
        declaration=table.fingerprint,
    )  # fmt: skip
    return TableWrite(ref.sql_name, version, rows, rows_quarantined)


def rebuild_trusted(
    lake: Lake, table_id: str, registry: Registry | None = None
) -> TableWrite | None:
    """Rebuild a trusted table from raw: every trusted ingest of its dataset, in order.

    Written as a new version of the whole table (time travel keeps the old one), with
    the declaration as it is now: an edited declaration applies to every file. ``None``
    for a table no file has reached yet: there is nothing to rebuild.
    """
    registry = registry or load_registry(lake.settings)
    # Several datasets may feed one table (weather.daily): their ingests, in one order.
    feeds = {d.id: (d, t) for d, t in registry.feeds(table_id)}
    table = next(iter(feeds.values()))[1]
    ref = TableRef("trusted", table.table_name)
    ingests = [i for d in feeds for i in lake.catalog.find(dataset=d, status=TRUSTED)]
    existing = lake.tables.dataset(ref)
    if not ingests and existing is None:
        return None
    parts: list[Cleaned] = []
    with spool_folder("rebuild") as spool:
        for ingest in sorted(ingests, key=lambda i: i.ingest_id):
            dataset, table = feeds[str(ingest.dataset)]
            path = _raw_file(lake, ingest) or _spool_raw(lake, ingest, Path(spool))
            raw = _read(path, ingest.read_options, table, ReaderLimits.from_settings(lake.settings))
            parts.append(clean_ingest(lake, dataset, table, ingest, raw))
    if parts:
        valid = pl.concat([p.valid for p in parts], how="diagonal_relaxed")
    else:  # its files were all replayed or forgotten: the table, with no rows
        assert existing is not None
        valid = pl.DataFrame(existing.schema.empty_table())
    if table.write_mode == "merge" and valid.height:
        valid = valid.unique(subset=list(table.key), keep="last", maintain_order=True)
    version = lake.tables.overwrite(ref, valid.to_arrow(), table.partition_by)
    quarantined = [p.quarantined for p in parts if p.quarantined.height]
    if quarantined or lake.tables.version(QUARANTINE) is not None:
        where = where_equal("table", ref.sql_name)
        if quarantined:
            q_data = pl.concat(quarantined, how="diagonal_relaxed")
            q_version = lake.tables.replace_where(QUARANTINE, q_data.to_arrow(), where)
        else:
            q_version = lake.tables.delete_where(QUARANTINE, where)
        lake.catalog.lineage.record(
            QUARANTINE.sql_name, q_version, "replace", ingests=[i.ingest_id for i in ingests],
            table_id=QUARANTINE.id,
        )  # fmt: skip
    rows_quarantined = sum(p.rows_quarantined for p in parts)
    lake.catalog.lineage.record(
        ref.sql_name, version, "rebuild", rebuild=True, rows=valid.height,
        quarantined=rows_quarantined, ingests=[i.ingest_id for i in ingests],
        table_id=ref.id, declaration=table.fingerprint,
    )  # fmt: skip
    return TableWrite(ref.sql_name, version, valid.height, rows_quarantined)
