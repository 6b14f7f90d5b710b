"""Zone transitions: raw → trusted against a polars floor, and the refined rebuild.

Both scenarios run on the embedded local backend (a folder under ``AGROLAKE_HOME``,
SQLite catalog):

* ``trusted``: one erp.activities CSV of ``--size-mb`` MB (default 500;
  ``write_bulk_csv(seed=1)``) is landed and taken to raw outside the timed region;
  timed: ``process_trusted(lake)``. The *floor*, in the same repetition, on the same
  raw bytes: ``pl.scan_csv(path, infer_schema=False).sink_parquet(out)``.
  Goals stated by the issue: agrolake ≤ 1.5 × the floor's time, peak RSS ≤ 1 GB.
* ``refined``: a parcels-and-treatments workbook with ``--enclosures`` parcel rows
  (default 10,000; ``write_parcels_and_treatments``) and an activities CSV of
  ``--activities-per-enclosure`` rows per enclosure (default 10) on those same
  enclosures are landed and taken to trusted outside the timed region; timed:
  ``process_refined(lake, force=True)`` while the refined tables do not exist yet
  (*first build*), again once they do (*rebuild*), and ``refined.build`` of the
  ``refined.digital_twin_enclosures`` entry alone (table present).

Every measurement runs in a fresh child process (the script calls itself with
``--child``), so the peak RSS reported (``VmHWM``) is that of one measurement. Each
repetition gets a fresh AGROLAKE_HOME. One-time set-up a long-running worker pays
once (imports, contract discovery, the catalog connection, a first cleaning of a
tiny file) happens before the timed region. CPU seconds (user + system of the
child during the timed region) are reported next to wall time: the machine is
shared, and CPU time is less sensitive to other tenants than wall time.

``--breakdown`` also times the steps of raw → trusted one by one in a fresh child
(the same agrolake functions ``process_trusted`` calls, in its order, with the peak
RSS of each step), the stages of the row-wise cleaning (what cleaning every row
costs, the path of tables not cleaned by value), and sketches of alternatives
measured before the by-value cleaning (clean once into a Parquet spool;
``collect_all`` over a bare scan; Delta writes of distinct keys from a stream or
from memory); ``--breakdown stages`` runs only the named ones.
Results and the reading of them: docs/BENCHMARKS.md, section "Zones".

Run from the repository root::

    .venv/bin/python -m bench.zones                 # full run: 500 MB, 10,000 enclosures, ×3
    .venv/bin/python -m bench.zones --quick         # smoke run: 50 MB, 1,000 enclosures
    .venv/bin/python -m bench.zones --out r.md --json r.json --breakdown --profile prof/

This is a script, not a test: it measures and reports, it asserts no timing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/zones.py
    sys.path.insert(0, str(ROOT))

from bench import facts  # noqa: E402  (after the sys.path set-up)
from bench.facts import revision  # noqa: E402

SCENARIOS = ("trusted", "refined")
MB = 1_000_000
MIB = 1024 * 1024
FULL = {"size_mb": 500.0, "enclosures": 10_000}
QUICK = {"size_mb": 50.0, "enclosures": 1_000}
BULK_NAME = "activities-bulk.csv"
PARCELS_NAME = "parcels-and-treatments.xlsx"
ACTIVITIES_NAME = "activities-enclosures.csv"
ENCLOSURES = "refined.digital_twin_enclosures"
GOAL_RATIO = 1.5
BREAKDOWN_CHILDREN = (
    "breakdown",
    "stages",
    "sketch-bare-scan",
    "sketch-spool",
    "sketch-distinct-stream",
    "sketch-distinct-memory",
)
GOAL_RSS = 1024**3  # "1 GB", read as 1 GiB


# --------------------------------------------------------------------------- measuring


def _current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """This process's high-water RSS (VmHWM); not ``ru_maxrss`` (it counts the fork)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _reset_peak() -> None:
    """Start a new VmHWM from the current RSS (Linux ≥ 4.0: ``5 > clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Timed:
    """Wall and CPU seconds, RSS before and peak RSS of one block (peak reset on entry)."""

    def __init__(self, reset_peak: bool = False) -> None:
        self.reset_peak = reset_peak
        self.result: dict[str, Any] = {}

    def __enter__(self) -> Timed:
        if self.reset_peak:
            _reset_peak()
        self._rss = _current_rss()
        self._cpu = _cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.result = {
            "seconds": time.perf_counter() - self._wall,
            "cpu_seconds": _cpu_seconds() - self._cpu,
            "rss_before": self._rss,
            "peak_rss": _peak_rss(),
            "rss_after": _current_rss(),
        }


def _raw_path(lake: Any, ingest: dict[str, Any]) -> Path:
    """The raw object of an ingest as a file (local backend only)."""
    path: Path = lake.settings.lake_folder / lake.settings.bucket("raw") / ingest.raw_key
    if not path.is_file():
        raise SystemExit(f"raw object not found as a file: {path}")
    return path


def _warm_up(lake: Any) -> None:
    """One-time costs a long-running worker pays once, outside the timed region."""
    import polars as pl

    from agrolake.datasets.cleaning import cleaning_of
    from agrolake.datasets.registry import load_registry
    from agrolake.datasets.trusted_schema import trusted_schema
    from agrolake.lake.read_options import ReadOptions
    from agrolake.readers import read_frame
    from agrolake.samples import write_activities
    from agrolake.transforms.row_errors import valid_rows

    lake.catalog.count_by_status()
    lake.store.exists("raw", "bench-warm-up")
    table = load_registry(lake.settings).dataset("erp.activities").tables[0]
    with tempfile.TemporaryDirectory(prefix="agrolake-warm-up-") as folder:
        warm = write_activities(Path(folder) / "activities.csv", rows=20, seed=0)
        raw = read_frame(warm, ReadOptions(), table.sheet).with_row_index("_row")
        numbered = raw.with_columns(pl.col("_row").cast(pl.Int64))
        cleaned = cleaning_of(table)(numbered, _options(lake))
        trusted_schema(table).validate(cleaned.drop("_errors", "_row"))
        valid_rows(cleaned).collect(engine="streaming")


def _options(lake: Any) -> Any:
    from agrolake.datasets.model import CleanOptions

    return CleanOptions(include_personal_data=lake.settings.include_personal_data)


def _profiled(profile_to: Path | None, action: Callable[[], Any]) -> Any:
    if profile_to is None:
        return action()
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return action()
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


# --------------------------------------------------------------------------- children


def child_populate(inputs: Path, scenario: str) -> dict[str, Any]:
    """Create the lake, land the inputs, take them to raw (and, for refined, to trusted)."""
    from agrolake.lake import Lake
    from agrolake.lake.catalog import RAW
    from agrolake.zones.landing import process_landing
    from agrolake.zones.trusted import process_trusted

    lake = Lake.from_env()
    lake.init()
    files = sorted(inputs.iterdir())
    for path in files:
        lake.store.put("landing", f"uploads/{path.name}", path)
    started = time.perf_counter()
    landing = process_landing(lake)
    result: dict[str, Any] = {"landing_seconds": time.perf_counter() - started}
    if dict(landing.counts) != {"raw": len(files)}:
        reasons = sorted({o.reason for o in landing.outcomes if o.reason})
        raise SystemExit(f"landing did not take every file to raw: {landing.counts} {reasons}")
    if scenario == "trusted":
        [ingest] = lake.catalog.find(status=RAW)
        result["raw_path"] = str(_raw_path(lake, ingest))
        result["bytes"] = _raw_path(lake, ingest).stat().st_size
    else:
        summary = process_trusted(lake)
        if summary.failed or len(summary.ingests) != len(files):
            raise SystemExit(f"trusted failed: {summary.failed}")
        result["trusted_seconds"] = summary.seconds
        result["trusted_rows"] = {w.table: w.rows for w in summary.writes}
        result["trusted_quarantined"] = {w.table: w.quarantined for w in summary.writes}
    lake.close()
    return result


def child_floor(raw_path: Path, out_dir: Path) -> dict[str, Any]:
    """The floor the issue defines: ``scan_csv(infer_schema=False).sink_parquet``."""
    import polars as pl

    import agrolake.zones.trusted  # noqa: F401  the agrolake child's imports, so RSS bases match

    out = out_dir / "floor.parquet"
    with Timed() as timed:
        pl.scan_csv(raw_path, infer_schema=False).sink_parquet(out)
    rows = pl.scan_parquet(out).select(pl.len()).collect().item()
    result = {**timed.result, "bytes": raw_path.stat().st_size, "rows": rows}
    result["parquet_bytes"] = out.stat().st_size
    out.unlink()
    return result


def child_trusted(profile_to: Path | None) -> dict[str, Any]:
    """Time ``process_trusted`` over the one raw ingest."""
    from agrolake.lake import Lake
    from agrolake.lake.catalog import RAW
    from agrolake.zones.trusted import process_trusted

    lake = Lake.from_env()
    [ingest] = lake.catalog.find(status=RAW)
    size = _raw_path(lake, ingest).stat().st_size
    _warm_up(lake)
    with Timed() as timed:
        summary = _profiled(profile_to, lambda: process_trusted(lake))
    lake.close()
    if summary.failed or len(summary.ingests) != 1:
        raise SystemExit(f"process_trusted did not take the ingest: {summary.failed}")
    return {
        **timed.result,
        "bytes": size,
        "rows": sum(w.rows for w in summary.writes),
        "quarantined": sum(w.quarantined for w in summary.writes),
        "line": summary.line(),
    }


def child_refined(profile_to: Path | None) -> dict[str, Any]:
    """Time ``process_refined(force=True)``, and each table's ``build`` within it."""
    import agrolake.zones.refined as refined
    from agrolake.datasets.registry import load_registry
    from agrolake.lake import Lake

    lake = Lake.from_env()
    _warm_up(lake)
    registry = load_registry(lake.settings)
    present = {r.sql_name: lake.tables.version(r) is not None for r in registry.refined_refs()}
    per_table: dict[str, float] = {}
    build = refined.build

    def timed_build(lake_: Any, registry_: Any, table: Any, versions: Any) -> Any:
        started = time.perf_counter()
        try:
            return build(lake_, registry_, table, versions)
        finally:
            per_table[f"refined.{table.name.replace('.', '_', 1)}"] = time.perf_counter() - started

    refined.build = timed_build  # process_refined looks it up in the module
    try:
        with Timed() as timed:
            summary = _profiled(profile_to, lambda: refined.process_refined(lake, force=True))
    finally:
        refined.build = build
    lake.close()
    return {
        **timed.result,
        "tables_present": any(present.values()),
        "per_table": per_table,
        "rows": {w.table: w.rows for w in summary.writes},
        "line": summary.line(),
    }


def child_enclosures() -> dict[str, Any]:
    """Time ``refined.build`` of the enclosures twin alone, as ``pipeline.rebuild`` does."""
    from agrolake.datasets.registry import load_registry
    from agrolake.lake import Lake
    from agrolake.lake.tables import TableRef
    from agrolake.zones.refined import build, inputs_of

    lake = Lake.from_env()
    _warm_up(lake)
    registry = load_registry(lake.settings)
    [table] = [t for t in registry.refined if TableRef("refined", t.name).sql_name == ENCLOSURES]
    present = lake.tables.version(TableRef("refined", table.name)) is not None
    with Timed() as timed:
        versions = {ref: lake.tables.version(ref) for ref in inputs_of(registry, table)}
        write = build(lake, registry, table, versions)
    lake.close()
    return {**timed.result, "tables_present": present, "rows": write.rows}


def child_breakdown() -> dict[str, Any]:
    """The steps of ``process_trusted`` for the one raw ingest, timed one by one.

    The same agrolake functions and polars calls, in the order ``clean_raw_ingest`` →
    ``clean_ingest`` → ``_clean_by_value`` → ``write_ingests`` make them (keep in step
    with agrolake/zones/trusted.py); catalog calls are left out. Each step's peak RSS is
    its own (VmHWM reset before it); memory a step frees may stay with the
    allocator, so a later step's "before" can include it.
    """
    import polars as pl

    from agrolake.datasets.cleaning import by_value_of, cleaning_of
    from agrolake.datasets.registry import load_registry
    from agrolake.datasets.trusted_schema import trusted_schema
    from agrolake.lake import Lake
    from agrolake.lake.catalog import RAW
    from agrolake.lake.tables import TableRef, where_equal
    from agrolake.transforms.by_value import split_by_value
    from agrolake.transforms.row_errors import ROW, quarantined_rows
    from agrolake.zones import trusted as tr

    lake = Lake.from_env()
    [ingest] = lake.catalog.find(status=RAW)
    dataset = load_registry(lake.settings).dataset(ingest.dataset)
    [table] = dataset.tables
    by_value = by_value_of(table)
    if by_value is None:
        raise SystemExit(f"{table.name} is not cleaned by value: the breakdown follows that path")
    ref = TableRef("trusted", table.table_name)
    cleaning = cleaning_of(table)
    options = _options(lake)
    _warm_up(lake)
    steps: list[dict[str, Any]] = []

    def step(name: str, action: Callable[[], Any]) -> Any:
        with Timed(reset_peak=True) as timed:
            out = action()
        steps.append({"step": name, **timed.result})
        print(f"  {name}: {timed.result['seconds']:.2f} s", file=sys.stderr)
        return out

    with tempfile.TemporaryDirectory(prefix="agrolake-breakdown-") as spool:
        path = step(
            "raw object as a file (`_raw_file`: in place on the local backend)",
            lambda: tr._raw_file(lake, ingest) or tr._spool_raw(lake, ingest, Path(spool)),
        )
        raw = step(
            "`read_frame` (lazy scan, schema)",
            lambda: tr._read(path, ingest.read_options, table),
        )
        coded = step(
            "`_read_coded`: the columns read as Categorical (streaming collect)",
            lambda: tr._read_coded(table, by_value, raw, options),
        )
        split = step(
            "`split_by_value`: distinct values cleaned, rows looked up, last row per key",
            lambda: split_by_value(
                coded.sources, lambda lf: cleaning(lf, options), by_value, table.key
            ),
        )
        step(
            "pandera schema check (lazy)",
            lambda: trusted_schema(table).validate(split.valid.lazy().drop(ROW)),
        )
        meta = [
            pl.lit(ingest.ingest_id).alias("_ingest_id"),
            pl.lit(ingest.created_at, dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
            pl.lit(dataset.source).alias("_source"),
        ]
        frame = step("lineage columns", lambda: split.valid.with_columns(meta))
        quarantined = step(
            "quarantined rows (`quarantined_rows`)",
            lambda: (
                quarantined_rows(split.failed.lazy(), ref.sql_name).with_columns(meta).collect()
            ),
        )
        data = step("`to_arrow`", frame.to_arrow)
        if table.key:
            step(
                "Delta MERGE (`Tables.merge`, empty table)",
                lambda: lake.tables.merge(
                    ref, data, table.key, table.partition_by, newer="_ingest_id"
                ),
            )
        else:
            step(
                "Delta replace (`Tables.replace_where`)",
                lambda: lake.tables.replace_where(
                    ref, data, where_equal("_ingest_id", ingest.ingest_id), table.partition_by
                ),
            )
    lake.close()
    return {
        "steps": steps,
        "rows_read": coded.sources.height,
        "rows_written": frame.height,
        "quarantined": quarantined.height,
        "bytes": _raw_path(lake, ingest).stat().st_size,
    }


def child_stages() -> dict[str, Any]:
    """What each stage of the activities cleaning adds, one streaming collect each.

    Cumulative: each line is the cleaning up to that stage, collected whole with the
    streaming engine (so it includes the scan). Times are medians of 3.
    """
    import polars as pl

    from agrolake.datasets import cleaning as common
    from agrolake.datasets.builtin import erp_activities as erp
    from agrolake.lake import Lake
    from agrolake.lake.catalog import RAW
    from agrolake.readers import read_frame
    from agrolake.transforms.parsers import clean_text
    from agrolake.transforms.row_errors import valid_rows

    lake = Lake.from_env()
    [ingest] = lake.catalog.find(status=RAW)
    path = _raw_path(lake, ingest)
    _warm_up(lake)
    raw = read_frame(path, ingest.read_options, "Hoja1")
    raw = raw.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    fields = common.visible(erp.FIELDS, _options(lake))
    clean_activities = common.cleaning_of(erp.DATASET.tables[0])
    sources = [f.source for f in fields if f.source]
    conformed = common.conform(raw, sources)
    texts = conformed.with_columns(
        clean_text(common.raw_col(s)).alias(common._TEXT + s) for s in sources
    )

    def parsed(*names: str) -> pl.LazyFrame:
        return texts.with_columns(
            f.parse(common.text_col(f.source)).alias(f.name)
            for f in fields
            if f.source and f.name in names
        )

    year = pl.col("activity_date").dt.year().cast(pl.Int32).alias("year")
    typed = common.typed(raw, fields).with_columns(year)
    stages = {
        "scan CSV (+ row index), every column": raw,
        "+ conform (rename, cast to text)": conformed,
        "+ `clean_text` of the 4 columns": texts,
        "+ `parse_date` (FECHA) only": parsed("activity_date"),
        "+ `parse_enclosure_id` (RECINTO ID) only": parsed("enclosure_id"),
        "+ every parser (`typed`) and year": typed,
        "+ `with_task_parts` (2 × `extract_groups`)": erp.with_task_parts(typed),
        "+ `_errors`, `finish`: `clean_activities`": clean_activities(raw),
        "`valid_rows(clean_activities)`": valid_rows(clean_activities(raw)),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in stages}
    for _ in range(3):
        for name, frame in stages.items():
            with Timed() as timed:
                frame.collect(engine="streaming")
            runs[name].append(timed.result)
    lake.close()
    return {
        "stages": [
            {"stage": n, "seconds": _med(r, "seconds"), "cpu_seconds": _med(r, "cpu_seconds")}
            for n, r in runs.items()
        ]
    }


def child_sketch(variant: str) -> dict[str, Any]:
    """Alternatives to the row-wise raw → trusted of commit 68fd5a0 ("today" below), kept
    as they were measured; the same raw ingest.

    ``spool``: the suggested single pass with bounded memory: the cleaned rows
    (with ``_errors``) are written once by the streaming engine to a Parquet spool;
    the valid rows are then read from it, deduplicated by the streaming engine
    (``unique(keep="last")`` without ``maintain_order``, then sorted by ``_row``, which
    gives today's rows in today's order), the quarantined rows are read from it too,
    and the valid rows are MERGEd as today. ``bare-scan``: today's
    ``collect_all([valid, quarantined])``, but over a bare ``pl.scan_csv`` instead of
    ``read_frame`` (whose ``rename`` stops polars from sharing the cleaning between
    the two outputs). ``distinct-stream``, ``distinct-memory``: how the Delta write
    scales when keys do not repeat (see ``_distinct_writes``).
    """
    import polars as pl

    from agrolake.datasets.cleaning import cleaning_of
    from agrolake.datasets.raw_contract import new_columns
    from agrolake.datasets.registry import load_registry
    from agrolake.lake import Lake
    from agrolake.lake.catalog import RAW
    from agrolake.lake.tables import TableRef
    from agrolake.transforms.row_errors import quarantined_rows, valid_rows
    from agrolake.zones import trusted as tr

    lake = Lake.from_env()
    [ingest] = lake.catalog.find(status=RAW)
    dataset = load_registry(lake.settings).dataset(ingest.dataset)
    [table] = dataset.tables
    ref = TableRef("trusted", table.table_name)
    _warm_up(lake)
    steps: list[dict[str, Any]] = []

    def step(name: str, action: Callable[[], Any]) -> Any:
        with Timed(reset_peak=True) as timed:
            out = action()
        steps.append({"step": name, **timed.result})
        print(f"  {name}: {timed.result['seconds']:.2f} s", file=sys.stderr)
        return out

    meta = [
        pl.lit(ingest.ingest_id).alias("_ingest_id"),
        pl.lit(ingest.created_at, dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(dataset.source).alias("_source"),
    ]
    with tempfile.TemporaryDirectory(prefix="agrolake-sketch-") as folder:
        spool = Path(folder)
        path = step("spool raw object (as from S3)", lambda: tr._spool_raw(lake, ingest, spool))
        if variant == "bare-scan":
            raw = pl.scan_csv(path, infer_schema=False, truncate_ragged_lines=True)
        else:
            raw = tr._read(path, ingest.read_options, table)
        raw = raw.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
        cleaned = cleaning_of(table)(raw, _options(lake))
        extra = new_columns(raw.collect_schema().names(), table, cleaned.collect_schema().names())
        valid = tr._with_new_columns(valid_rows(cleaned), raw, extra).with_columns(meta)
        failed = quarantined_rows(cleaned, ref.sql_name).with_columns(meta)
        if variant == "spool":
            # Extra raw columns joined before the spool, so both reads see them.
            whole = tr._with_new_columns(cleaned, raw, extra).with_columns(meta)
            step(
                "clean once: `sink_parquet` of the cleaned rows to a spool (streaming)",
                lambda: whole.sink_parquet(spool / "cleaned.parquet"),
            )
            spooled = pl.scan_parquet(spool / "cleaned.parquet")
            deduped = valid_rows(spooled)
            if table.key:
                deduped = deduped.unique(subset=list(table.key), keep="last")
            frame = step(
                'valid rows from the spool, `unique(keep="last")`, streaming; sort by `_row`',
                lambda: deduped.collect(engine="streaming").sort("_row"),
            )
            step(
                "quarantined rows from the spool (streaming)",
                lambda: quarantined_rows(spooled, ref.sql_name).collect(engine="streaming"),
            )
            data = step("`to_arrow`", frame.to_arrow)
            step(
                "Delta MERGE (as today)",
                lambda: lake.tables.merge(
                    ref, data, table.key, table.partition_by, newer="_ingest_id"
                ),
            )
            rows = data.num_rows
        elif variant == "bare-scan":
            frame, _ = step(
                "`collect_all([valid, quarantined])` over a bare `scan_csv` (streaming)",
                lambda: pl.collect_all([valid, failed], engine="streaming"),
            )
            rows = frame.height
        else:
            source = variant.removeprefix("distinct-")
            rows = _distinct_writes(lake, table, valid, spool, step, source)
    lake.close()
    return {"variant": variant, "steps": steps, "rows": rows}


def _distinct_writes(
    lake: Any,
    table: Any,
    valid: Any,
    spool: Path,
    step: Callable[[str, Callable[[], Any]], Any],
    source: str,
) -> int:
    """The Delta writes when no key repeats: ``source`` "stream" or "memory".

    Every valid row of the file, its key made distinct (the row number appended to
    ``task``), is spooled to Parquet by the streaming engine. ``stream``: MERGE from
    a ``RecordBatchReader`` over the spool into an empty table, ``write_deltalake``
    append from a reader into another new table, then the MERGE again (every row
    matched: a re-ingest). ``memory``, as today: the spool read into a ``pa.Table``,
    MERGEd into an empty table, and MERGEd again. Each runs in its own child, so the
    first write of each starts from a clean heap.
    """
    import polars as pl
    import pyarrow.dataset as pads
    from deltalake import write_deltalake

    from agrolake.lake.tables import TableRef

    def reader() -> Any:
        return pads.dataset(spool / "distinct.parquet").scanner(batch_size=64 * 1024).to_reader()

    def merge(ref: TableRef, data: Any) -> int:
        merged: int = lake.tables.merge(
            ref, data, table.key, table.partition_by, newer="_ingest_id"
        )
        return merged

    target = TableRef("trusted", f"bench.{source}")
    distinct = valid.with_columns(pl.col("task") + "#" + pl.col("_row").cast(pl.String))
    step(
        "clean, make keys distinct, `sink_parquet` to a spool (streaming)",
        lambda: distinct.sink_parquet(spool / "distinct.parquet"),
    )
    rows: int = pads.dataset(spool / "distinct.parquet").count_rows()
    if source == "stream":
        step("MERGE from a `RecordBatchReader`, empty table", lambda: merge(target, reader()))
        step(
            '`write_deltalake(mode="append")` from a reader, new table',
            lambda: write_deltalake(
                lake.tables.uri(TableRef("trusted", "bench.appended")),
                reader(),
                mode="append",
                partition_by=list(table.partition_by) or None,
            ),
        )
        step("MERGE again from a reader, every row matched", lambda: merge(target, reader()))
    else:
        data = step(
            "read the spool, `to_arrow` (as today)",
            lambda: pl.read_parquet(spool / "distinct.parquet").to_arrow(),
        )
        step("MERGE of the `pa.Table`, empty table (as today)", lambda: merge(target, data))
        step("MERGE of the `pa.Table` again, every row matched", lambda: merge(target, data))
    return rows


def run_as_child(args: argparse.Namespace) -> None:
    profile_to = Path(args.profile_to) if args.profile_to else None
    kind = args.child
    if kind == "populate":
        result = child_populate(Path(args.inputs), args.scenario_of_child)
    elif kind == "floor":
        result = child_floor(Path(args.raw_path), Path(args.out_dir))
    elif kind == "trusted":
        result = child_trusted(profile_to)
    elif kind == "refined":
        result = child_refined(profile_to)
    elif kind == "enclosures":
        result = child_enclosures()
    elif kind == "breakdown":
        result = child_breakdown()
    elif kind == "stages":
        result = child_stages()
    else:
        result = child_sketch(kind.removeprefix("sketch-"))
    print(json.dumps(result, default=str))


# --------------------------------------------------------------------------- parent


def write_enclosure_activities(path: Path, enclosures: int, per_enclosure: int, seed: int) -> Path:
    """An activities CSV on the first ``enclosures`` parcels of ``seed``'s workbook.

    ``write_activities`` draws from at most 40 enclosures, so this uses the samples'
    own row generator on the same parcel stream, over the workbook's harvest years.
    """
    import random

    from agrolake.samples import ACTIVITY_HEADERS
    from agrolake.samples.activities import _activity_rows
    from agrolake.samples.parcels import make_parcels

    rng = random.Random(f"{seed}:bench-activities")
    pool = make_parcels(seed, enclosures)
    rows = _activity_rows(rng, pool, enclosures * per_enclosure, years=(2021, 2022, 2023, 2024))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ACTIVITY_HEADERS)
        writer.writerows(rows)
    return path


def make_inputs(folder: Path, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """Write the scenario's input files once; every repetition lands copies of them."""
    from agrolake.samples import write_bulk_csv, write_parcels_and_treatments

    folder.mkdir(parents=True)
    started = time.perf_counter()
    if scenario == "trusted":
        path = write_bulk_csv(folder / BULK_NAME, target_bytes=int(args.size_mb * MB), seed=1)
        info: dict[str, Any] = {"bytes": path.stat().st_size}
    else:
        parcels = write_parcels_and_treatments(folder / PARCELS_NAME, rows=args.enclosures, seed=1)
        info = {"parcels_seconds": time.perf_counter() - started}
        activities = write_enclosure_activities(
            folder / ACTIVITIES_NAME, args.enclosures, args.activities_per_enclosure, seed=1
        )
        info |= {
            "parcels_bytes": parcels.stat().st_size,
            "activities_bytes": activities.stat().st_size,
            "activity_rows": args.enclosures * args.activities_per_enclosure,
        }
    info["generate_seconds"] = time.perf_counter() - started
    return info


def child_env(run_dir: Path) -> dict[str, str]:
    """A clean environment for one repetition: fresh home, own TMPDIR, local backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGROLAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["TMPDIR"] = str(run_dir / "tmp")
    env["AGROLAKE_HOME"] = str(run_dir / "home")
    return env


def run_child(
    kind: str, scenario: str, env: dict[str, str], run_dir: Path, *extra: str
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.zones", "--child", kind, *extra]
    os.sync()  # nobody pays for the writeback of the previous step
    load = os.getloadavg()[0]
    # cwd is the run folder: no .env of the developer is read by the settings.
    proc = subprocess.run(cmd, cwd=run_dir, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child ({scenario}) failed with {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"kind": kind, "scenario": scenario, "load_before": load, **result}


def repetition_trusted(
    run_dir: Path, inputs: Path, profile_to: Path | None = None
) -> list[dict[str, Any]]:
    """Populate (landing → raw), then the floor, then agrolake, each in a fresh child."""
    (run_dir / "tmp").mkdir(parents=True)
    env = child_env(run_dir)
    try:
        populated = run_child(
            "populate",
            "trusted",
            env,
            run_dir,
            "--inputs",
            str(inputs),
            "--scenario-of-child",
            "trusted",
        )
        results = []
        if profile_to is None:
            floor = run_child(
                "floor",
                "trusted",
                env,
                run_dir,
                "--raw-path",
                populated["raw_path"],
                "--out-dir",
                str(run_dir / "tmp"),
            )
            results.append(floor)
        extra = ["--profile-to", str(profile_to)] if profile_to else []
        results.append(run_child("trusted", "trusted", env, run_dir, *extra))
        return results
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def repetition_refined(
    run_dir: Path, inputs: Path, profile_to: Path | None = None
) -> list[dict[str, Any]]:
    """Populate (landing → raw → trusted), then first build, rebuild, enclosures alone."""
    (run_dir / "tmp").mkdir(parents=True)
    env = child_env(run_dir)
    try:
        populated = run_child(
            "populate",
            "refined",
            env,
            run_dir,
            "--inputs",
            str(inputs),
            "--scenario-of-child",
            "refined",
        )
        extra = ["--profile-to", str(profile_to)] if profile_to else []
        first = run_child("refined", "refined", env, run_dir, *extra)
        if profile_to is not None:
            return [first]
        first |= {"phase": "first", "populate": populated}
        again = run_child("refined", "refined", env, run_dir) | {"phase": "rebuild"}
        alone = run_child("enclosures", "refined", env, run_dir) | {"phase": "enclosures"}
        return [first, again, alone]
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def run_breakdown(workdir: Path, inputs: Path, kinds: list[str]) -> dict[str, Any]:
    """Step timings, cleaning stages and the sketches, each on a fresh lake and child."""
    out: dict[str, Any] = {}
    for kind in kinds:
        run_dir = workdir / "runs" / kind
        (run_dir / "tmp").mkdir(parents=True)
        env = child_env(run_dir)
        try:
            run_child(
                "populate",
                "trusted",
                env,
                run_dir,
                "--inputs",
                str(inputs),
                "--scenario-of-child",
                "trusted",
            )
            print(f"{kind}:", file=sys.stderr)
            out[kind] = run_child(kind, "trusted", env, run_dir)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- report


def _med(runs: list[dict[str, Any]], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def _mib(value: float) -> str:
    return f"{value / MIB:,.0f} MiB"


def _rss(runs: list[dict[str, Any]]) -> str:
    peak = max(r["peak_rss"] for r in runs)
    return f"{_mib(peak)} (base {_mib(_med(runs, 'rss_before'))})"


def _runs(runs: list[dict[str, Any]], field: str = "seconds", digits: int = 2) -> str:
    return " / ".join(f"{r[field]:.{digits}f}" for r in runs)


def trusted_table(results: list[dict[str, Any]], info: dict[str, Any]) -> str:
    agro = [r for r in results if r["kind"] == "trusted"]
    floor = [r for r in results if r["kind"] == "floor"]
    if not agro or not floor:
        return ""
    size = info["bytes"]
    a, f = _med(agro, "seconds"), _med(floor, "seconds")
    peak = max(r["peak_rss"] for r in agro)
    time_goal = "met" if a / f <= GOAL_RATIO else "**not met**"
    rss_goal = "met" if peak <= GOAL_RSS else "**not met**"
    lines = [
        f"Input: one erp.activities CSV of {size / MB:,.1f} MB, {floor[0]['rows']:,} data rows "
        f"(`write_bulk_csv(seed=1)`); agrolake writes {agro[0]['rows']:,} rows "
        f"(deduplicated on the key), {agro[0]['quarantined']:,} quarantined.\n",
        "| Raw → trusted | wall time | CPU time | throughput | peak RSS | ÷ floor |",
        "|---|---:|---:|---:|---:|---:|",
        f"| floor: `scan_csv(infer_schema=False).sink_parquet` | {f:.2f} s "
        f"| {_med(floor, 'cpu_seconds'):.2f} s | {size / MB / f:,.1f} MB/s | {_rss(floor)} | 1 |",
        f"| agrolake: `process_trusted(lake)` | {a:.2f} s | {_med(agro, 'cpu_seconds'):.2f} s "
        f"| {size / MB / a:,.1f} MB/s | {_rss(agro)} | **{a / f:.1f}×** |",
        "",
        f"Goals: time ≤ {GOAL_RATIO}× the floor — {time_goal} ({a / f:.1f}×); "
        f"peak RSS ≤ 1 GiB — {rss_goal} ({_mib(peak)}).",
        "",
        "| Every run (wall s) | runs | CPU s | load avg before |",
        "|---|---|---|---|",
        f"| floor | {_runs(floor)} | {_runs(floor, 'cpu_seconds')} "
        f"| {_runs(floor, 'load_before', 1)} |",
        f"| agrolake | {_runs(agro)} | {_runs(agro, 'cpu_seconds')} "
        f"| {_runs(agro, 'load_before', 1)} |",
    ]
    return "\n".join(lines) + "\n"


PHASES = {
    "first": "`process_refined(force=True)`, refined tables absent (first build)",
    "rebuild": "`process_refined(force=True)`, refined tables present (rebuild)",
    "enclosures": "`build` of `digital_twin.enclosures` alone, table present",
}


def refined_table(results: list[dict[str, Any]], info: dict[str, Any]) -> str:
    by_phase = {p: [r for r in results if r.get("phase") == p] for p in PHASES}
    if not by_phase["first"]:
        return ""
    populate = by_phase["first"][0]["populate"]
    rows = by_phase["first"][0]["rows"]
    trusted_rows = ", ".join(f"{t} {n:,}" for t, n in populate["trusted_rows"].items())
    lines = [
        f"Inputs: parcels-and-treatments workbook of {info['parcels_bytes'] / MB:.1f} MB "
        f"(generated in {info['parcels_seconds']:.1f} s), activities CSV of "
        f"{info['activities_bytes'] / MB:.1f} MB ({info['activity_rows']:,} rows). "
        f"Trusted: {trusted_rows}. Refined: "
        + ", ".join(f"{t} {n:,}" for t, n in rows.items())
        + ".\n",
        "| Refined | wall time | CPU time | peak RSS | enclosures table within it |",
        "|---|---:|---:|---:|---:|",
    ]
    for phase, label in PHASES.items():
        runs = by_phase[phase]
        if not runs:
            continue
        if phase == "enclosures":
            within = f"{_med(runs, 'seconds'):.2f} s"
        else:
            within = f"{statistics.median(r['per_table'][ENCLOSURES] for r in runs):.2f} s"
        lines.append(
            f"| {label} | {_med(runs, 'seconds'):.2f} s | {_med(runs, 'cpu_seconds'):.2f} s "
            f"| {_rss(runs)} | {within} |"
        )
    lines += ["", "| Every run (wall s) | runs |", "|---|---|"]
    for phase, label in PHASES.items():
        if by_phase[phase]:
            lines.append(f"| {label} | {_runs(by_phase[phase])} |")
    first = by_phase["first"]
    tables = list(first[0]["per_table"])
    lines += [
        "",
        "Per table within the first build / the rebuild (median wall s):\n",
        "| Table | first build | rebuild |",
        "|---|---:|---:|",
    ]
    for name in tables:
        cells = []
        for phase in ("first", "rebuild"):
            runs = [r for r in by_phase[phase] if name in r["per_table"]]
            cells.append(
                f"{statistics.median(r['per_table'][name] for r in runs):.2f}" if runs else "–"
            )
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def breakdown_tables(data: dict[str, Any]) -> str:
    parts = []
    if "breakdown" in data:
        b = data["breakdown"]
        total = sum(s["seconds"] for s in b["steps"])
        parts.append(
            f"Steps of raw → trusted, one child ({b['rows_read']:,} rows read, "
            f"{b['rows_written']:,} written, {b['quarantined']:,} quarantined):\n\n"
            "| Step | wall | CPU | share | RSS before | peak RSS in step |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            + "\n".join(
                f"| {s['step']} | {s['seconds']:.2f} s | {s['cpu_seconds']:.2f} s "
                f"| {s['seconds'] / total:.0%} | {_mib(s['rss_before'])} | {_mib(s['peak_rss'])} |"
                for s in b["steps"]
            )
            + f"\n| **total** | **{total:.2f} s** | | | | |\n"
        )
    if "stages" in data:
        parts.append(
            "Cleaning stages, cumulative (each collected whole, streaming engine; median "
            "of 3):\n\n| Cleaning up to | wall | CPU |\n|---|---:|---:|\n"
            + "\n".join(
                f"| {s['stage']} | {s['seconds']:.2f} s | {s.get('cpu_seconds', 0):.2f} s |"
                for s in data["stages"]["stages"]
            )
            + "\n"
        )
    for kind in BREAKDOWN_CHILDREN[2:]:
        if kind in data:
            s = data[kind]
            parts.append(
                f"Sketch `{s['variant']}` ({s['rows']:,} rows out):\n\n"
                "| Step | wall | CPU | RSS before | peak RSS in step |\n|---|---:|---:|---:|---:|\n"
                + "\n".join(
                    f"| {x['step']} | {x['seconds']:.2f} s | {x['cpu_seconds']:.2f} s "
                    f"| {_mib(x['rss_before'])} | {_mib(x['peak_rss'])} |"
                    for x in s["steps"]
                )
                + "\n"
            )
    return "\n".join(parts)


def machine() -> str:
    return facts.machine(("polars", "deltalake", "pyarrow", "pandera", "obstore"))


def _write_profile_summary(profile: Path) -> None:
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(profile), stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    profile.with_suffix(".txt").write_text(text.getvalue())


def run_benchmark(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else FULL
    args.size_mb = args.size_mb or sizes["size_mb"]
    args.enclosures = args.enclosures or sizes["enclosures"]
    workdir = Path(tempfile.mkdtemp(prefix="agrolake-bench-zones-", dir=args.workdir))
    results: list[dict[str, Any]] = []
    info: dict[str, dict[str, Any]] = {}
    breakdown: dict[str, Any] = {}
    started = datetime.now(UTC)
    code = revision()
    try:
        for scenario in args.scenario:
            info[scenario] = make_inputs(workdir / "inputs" / scenario, scenario, args)
            print(f"{scenario} inputs: {info[scenario]}", file=sys.stderr)
        repetition = {"trusted": repetition_trusted, "refined": repetition_refined}
        for scenario in args.scenario:
            for rep in range(args.repeat):
                run_dir = workdir / "runs" / f"{scenario}-{rep}"
                done = repetition[scenario](run_dir, workdir / "inputs" / scenario)
                results += done
                timing = ", ".join(
                    f"{r.get('phase', r['kind'])} {r['seconds']:.2f} s "
                    f"(peak {r['peak_rss'] / MIB:,.0f} MiB)"
                    for r in done
                )
                print(f"{scenario} #{rep + 1}: {timing}", file=sys.stderr)
        if args.breakdown is not None and "trusted" in args.scenario:
            kinds = args.breakdown or list(BREAKDOWN_CHILDREN)
            breakdown = run_breakdown(workdir, workdir / "inputs" / "trusted", kinds)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for scenario in args.scenario:
                profile_to = args.profile.resolve() / f"zones-{scenario}.prof"
                run_dir = workdir / "runs" / f"{scenario}-profile"
                [profiled] = repetition[scenario](
                    run_dir, workdir / "inputs" / scenario, profile_to
                )
                _write_profile_summary(profile_to)
                print(
                    f"{scenario} profiled: {profiled['seconds']:.2f} s "
                    f"→ {profile_to.with_suffix('.txt')}",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    finished = datetime.now(UTC)
    command = " ".join(["python -m bench.zones", *sys.argv[1:]])
    sections = []
    if "trusted" in info:
        sections.append(
            trusted_table([r for r in results if r["scenario"] == "trusted"], info["trusted"])
        )
    if "refined" in info:
        sections.append(
            refined_table([r for r in results if r["scenario"] == "refined"], info["refined"])
        )
    if breakdown:
        sections.append(breakdown_tables(breakdown))
    report = (
        f"Command: `{command}`  \n"
        f"Date: {started:%Y-%m-%d %H:%M}–{finished:%H:%M} UTC  \n"
        f"Machine: {machine()}  \n"
        f"Code: {code}  \n"
        f"Medians of {args.repeat} run(s); peak RSS is the maximum over the runs (VmHWM of "
        "the measuring child), base its RSS before the timed region.\n\n" + "\n".join(sections)
    )
    print(report)
    if args.out:
        args.out.write_text(report)
    if args.json:
        args.json.write_text(
            json.dumps({"info": info, "runs": results, "breakdown": breakdown}, indent=1)
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Raw → trusted against a polars floor, and the refined digital twin rebuild."
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 50 MB CSV, 1,000 enclosures"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--size-mb", type=float, help="raw → trusted CSV size in MB (default 500)")
    parser.add_argument("--enclosures", type=int, help="parcel rows of the workbook (10,000)")
    parser.add_argument(
        "--activities-per-enclosure", type=int, default=10, help="activity rows per enclosure"
    )
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--out", type=Path, help="write the markdown report to this file")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument(
        "--breakdown",
        nargs="*",
        choices=BREAKDOWN_CHILDREN,
        help="also time raw → trusted step by step, the cleaning stages and the sketches "
        "(all of them, or the ones named)",
    )
    parser.add_argument(
        "--profile", type=Path, help="also cProfile one agrolake run per scenario into DIR"
    )
    parser.add_argument("--workdir", type=Path, help="parent folder of the scratch folder")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scenario-of-child", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--raw-path", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_as_child(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
