"""Raw → trusted: each raw ingest cleaned, typed and validated into Delta tables.

Rows that fail the trusted checks go to the quarantine table with the failing
column, check and value; the others proceed. Keyed datasets are MERGEd on their
business key (the latest ingest wins); others replace the rows of their ingest.
Writing an ingest again leaves the same rows: re-processing never duplicates.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import polars as pl

from agrolake.catalog import RAW, TRUSTED
from agrolake.contracts import DatasetContract, TrustedTable, all_contracts, get_contract
from agrolake.errors import AgrolakeError
from agrolake.lake import Lake
from agrolake.locations import load_locations, station_locations
from agrolake.naming import normalise, snake_case
from agrolake.readers import read_frame
from agrolake.tables import TableRef
from agrolake.transforms import CleanOptions, quarantined_rows, valid_rows

QUARANTINE = TableRef("trusted", "quarantine.rows")
META = ("_ingest_id", "_ingested_at", "_source")
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
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        rows = sum(w.rows for w in self.writes)
        quarantined = sum(w.quarantined for w in self.writes)
        tables = len({w.table for w in self.writes})
        failed = f", {len(self.failed)} failed" if self.failed else ""
        return (
            f"trusted: {len(self.ingests)} ingests → {rows} rows in {tables} tables, "
            f"{quarantined} quarantined{failed} ({self.seconds:.1f} s)"
        )


def trusted_refs() -> list[TableRef]:
    """Every trusted table the contracts declare, then the quarantine table."""
    # dict: a table several datasets feed (weather.daily) is listed once.
    refs = dict.fromkeys(TableRef("trusted", t.id) for c in all_contracts() for t in c.trusted)
    return [*refs, QUARANTINE]


def process_trusted(lake: Lake, ingest_ids: list[str] | None = None) -> TrustedSummary:
    """Take every raw ingest not yet in trusted (or the given ones) into the trusted tables."""
    started = time.perf_counter()
    summary = TrustedSummary()
    lease = timedelta(seconds=lake.settings.lease_seconds)
    tried: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="agrolake-trusted-") as spool:
        # One ingest per claim, oldest first: several workers share the work, and
        # the order keeps "the latest ingest wins" true on business keys.
        while claimed := lake.catalog.claim_stage(RAW, lake.worker, lease, ingest_ids, limit=1):
            [ingest] = claimed
            ingest_id = ingest["ingest_id"]
            if ingest_id in tried:
                break  # failed earlier in this run; a later run tries again
            tried.add(ingest_id)
            try:
                writes = trust_ingest(lake, ingest, Path(spool))
            except AgrolakeError as exc:
                lake.catalog.finish_attempt(
                    ingest_id, lake.worker, exc.message, from_status=RAW, retry_after=RETRY_AFTER
                )
                summary.failed[ingest_id] = exc.message
                continue
            stats = {w.table: {"rows": w.rows, "quarantined": w.quarantined} for w in writes}
            lake.catalog.finish(
                ingest_id, lake.worker, TRUSTED, from_status=RAW,
                details={**(ingest["details"] or {}), "trusted": stats},
            )  # fmt: skip
            summary.ingests.append(ingest_id)
            summary.writes.extend(writes)
            summary.warnings.extend(
                f"{ingest['original_name']}: every row of {w.table} failed its checks "
                f"({w.quarantined} quarantined)"
                for w in writes
                if w.rows == 0 and w.quarantined
            )
    summary.seconds = time.perf_counter() - started
    return summary


def trust_ingest(lake: Lake, ingest: dict[str, Any], spool: Path) -> list[TableWrite]:
    """Write one raw ingest into each trusted table of its dataset."""
    contract = get_contract(ingest["dataset"])
    path = _spool_raw(lake, ingest, spool)
    try:
        details = ingest["details"] or {}
        return [
            write_ingest(lake, contract, table, ingest, _read(path, details, table))
            for table in contract.trusted
        ]
    finally:
        path.unlink(missing_ok=True)
        path.with_suffix(".utf8.csv").unlink(missing_ok=True)


def _spool_raw(lake: Lake, ingest: dict[str, Any], spool: Path) -> Path:
    path: Path = spool / str(ingest["ingest_id"])
    with path.open("wb") as out:
        for chunk in lake.store.stream("raw", ingest["raw_key"]):
            out.write(chunk)
    return path


def _read(path: Path, details: dict[str, Any], table: TrustedTable) -> pl.LazyFrame:
    return read_frame(path, details.get("format", "csv"), details, table.sheet)


@dataclass(frozen=True)
class Cleaned:
    """One ingest's rows for one trusted table: those that passed, those quarantined."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame

    @property
    def rows_quarantined(self) -> int:
        return self.quarantined["row_index"].n_unique() if self.quarantined.height else 0


def clean_ingest(
    lake: Lake,
    contract: DatasetContract,
    table: TrustedTable,
    ingest: dict[str, Any],
    raw: pl.LazyFrame,
) -> Cleaned:
    """Clean, type and check one raw table of an ingest; nothing is written."""
    ref = TableRef("trusted", table.id)
    meta = [
        pl.lit(ingest["ingest_id"]).alias("_ingest_id"),
        pl.lit(ingest["created_at"], dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(contract.source).alias("_source"),
    ]
    raw = raw.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    options = CleanOptions(
        include_personal_data=lake.settings.include_personal_data,
        stations=station_locations(load_locations(lake.settings)),
    )
    cleaned = table.clean(raw, options)
    table.schema.validate(cleaned.drop("_errors", "_row"))  # types: schema-only on a LazyFrame
    with tempfile.TemporaryDirectory(prefix="agrolake-clean-") as folder:
        # Cleaning is the expensive part: it runs once, streamed to a Parquet spool,
        # and both outputs read the spool (measured: a third of the CPU and of the
        # peak memory of collecting the two outputs from the raw plan).
        spool = Path(folder) / "cleaned.parquet"
        cleaned.sink_parquet(spool, engine="streaming")
        checked = pl.scan_parquet(spool)
        valid = valid_rows(checked)
        if table.key:
            # One row per key within the file: the last, as a later line corrects an
            # earlier; deduplicated in the streaming engine, file order restored after.
            valid = valid.unique(subset=list(table.key), keep="last").sort("_row")
        valid = _with_new_columns(valid, raw, contract, table).with_columns(meta)
        frame = valid.collect(engine="streaming")
        failed = quarantined_rows(checked, ref.sql_name).with_columns(meta)
        quarantined = failed.collect(engine="streaming")
    return Cleaned(frame, quarantined)


def write_ingest(
    lake: Lake,
    contract: DatasetContract,
    table: TrustedTable,
    ingest: dict[str, Any],
    raw: pl.LazyFrame,
) -> TableWrite:
    """Clean one raw table and write it (and its quarantined rows) as this ingest."""
    ref = TableRef("trusted", table.id)
    ingest_id = ingest["ingest_id"]
    cleaned = clean_ingest(lake, contract, table, ingest, raw)
    data = cleaned.valid.to_arrow()
    if table.key:
        version = lake.tables.merge(ref, data, table.key, table.partition_by, newer="_ingest_id")
    else:
        where = f"_ingest_id = '{ingest_id}'"
        version = lake.tables.replace_where(ref, data, where, table.partition_by)
    if cleaned.quarantined.height or lake.tables.version(QUARANTINE) is not None:
        where = f"_ingest_id = '{ingest_id}' AND `table` = '{ref.sql_name}'"
        q_version = lake.tables.replace_where(QUARANTINE, cleaned.quarantined.to_arrow(), where)
        lake.catalog.lineage.record(
            QUARANTINE.sql_name, q_version, "replace",
            rows=cleaned.quarantined.height, ingests=[ingest_id],
        )  # fmt: skip
    lake.catalog.lineage.record(
        ref.sql_name, version, "merge" if table.key else "replace",
        rows=cleaned.valid.height, quarantined=cleaned.rows_quarantined, ingests=[ingest_id],
    )  # fmt: skip
    return TableWrite(ref.sql_name, version, cleaned.valid.height, cleaned.rows_quarantined)


def rebuild_trusted(lake: Lake, table_id: str) -> TableWrite:
    """Rebuild a trusted table from raw: every trusted ingest of its dataset, in order.

    Written as a new version of the whole table (time travel keeps the old one).
    """
    # Several datasets may feed one table (weather.daily): their ingests, in one order.
    feeds = {c.id: (c, tt) for c in all_contracts() for tt in c.trusted if tt.id == table_id}
    table = next(iter(feeds.values()))[1]
    ref = TableRef("trusted", table.id)
    ingests = [i for d in feeds for i in lake.catalog.find(dataset=d, status=TRUSTED)]
    parts: list[Cleaned] = []
    with tempfile.TemporaryDirectory(prefix="agrolake-rebuild-") as spool:
        for ingest in sorted(ingests, key=lambda i: i["ingest_id"]):
            contract, table = feeds[ingest["dataset"]]
            path = _spool_raw(lake, ingest, Path(spool))
            raw = _read(path, ingest["details"] or {}, table)
            parts.append(clean_ingest(lake, contract, table, ingest, raw))
    valid = pl.concat([p.valid for p in parts], how="diagonal_relaxed") if parts else None
    if valid is None:
        valid = pl.DataFrame()
    if table.key and valid.height:
        valid = valid.unique(subset=list(table.key), keep="last", maintain_order=True)
    version = lake.tables.overwrite(ref, valid.to_arrow(), table.partition_by)
    quarantined = [p.quarantined for p in parts if p.quarantined.height]
    if quarantined or lake.tables.version(QUARANTINE) is not None:
        where = f"`table` = '{ref.sql_name}'"
        if quarantined:
            q_data = pl.concat(quarantined, how="diagonal_relaxed")
            q_version = lake.tables.replace_where(QUARANTINE, q_data.to_arrow(), where)
        else:
            q_version = lake.tables.delete_where(QUARANTINE, where)
        lake.catalog.lineage.record(
            QUARANTINE.sql_name, q_version, "replace", ingests=[i["ingest_id"] for i in ingests]
        )
    rows_quarantined = sum(p.rows_quarantined for p in parts)
    lake.catalog.lineage.record(
        ref.sql_name, version, "rebuild", rebuild=True, rows=valid.height,
        quarantined=rows_quarantined, ingests=[i["ingest_id"] for i in ingests],
    )  # fmt: skip
    return TableWrite(ref.sql_name, version, valid.height, rows_quarantined)


def _with_new_columns(
    valid: pl.LazyFrame, raw: pl.LazyFrame, contract: DatasetContract, table: TrustedTable
) -> pl.LazyFrame:
    """Schema evolution: raw columns no contract declares ride along as nullable text."""
    wanted = next((t for t in contract.tables if t.sheet == table.sheet), contract.tables[0])
    declared = {normalise(c) for c in (*wanted.required, *wanted.optional)}
    present = set(valid.collect_schema().names())
    extra = {
        c: snake_case(c)
        for c in raw.collect_schema().names()
        if c != "_row" and normalise(c) not in declared and snake_case(c) not in present
    }
    if not extra:
        return valid
    new = raw.select("_row", *(pl.col(c).str.strip_chars().alias(n) for c, n in extra.items()))
    return valid.join(new, on="_row", how="left")
