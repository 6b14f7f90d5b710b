"""A table after many single-file ingests, before and after ``agrolake maintain``, against
the same rows written once.

``--ingests`` activities files (20 rows each, each file on enclosures of its own, as
daily exports of new work) reach ``trusted.erp_activities`` (MERGE on its key,
partitioned by year) one file per run: landing and trusted for each file, ``--ingests``
commits, each adding its files. A
second lake takes the same files in one run (one batch, one MERGE): the table written
once. On each, in a fresh child process: ``SELECT count(*)`` and a filtered query (one
month) through ``agrolake query``'s engine (DuckDB over the table's Arrow dataset), and
one more MERGE of a 20-row file (medians of ``--repeat``); then ``maintain`` on the
first lake (no retention window: what it frees shows at once) and the same again.

Run from the repository root::

    .venv/bin/python -m bench.table_upkeep --ingests 1000 --repeat 5

A script, not a test: it measures and reports, it asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import facts  # noqa: E402

TABLE = "trusted.erp_activities"


def _lake() -> Any:
    from agrolake.lake import Lake

    lake = Lake.from_env()
    lake.init()
    return lake


def _file(folder: Path, i: int) -> bytes:
    from agrolake.samples import write_activities

    path = write_activities(folder / f"a{i}.csv", rows=20, seed=i)
    return path.read_bytes()


def child_build(folder: Path, ingests: int, one_by_one: bool) -> dict[str, Any]:
    from agrolake.zones.landing import process_landing
    from agrolake.zones.trusted import process_trusted

    lake = _lake()
    started = time.perf_counter()
    for i in range(ingests):
        lake.store.put("landing", f"actividades_{i:05d}.csv", _file(folder, i))
        if one_by_one:
            process_landing(lake)
            process_trusted(lake)
    if not one_by_one:
        process_landing(lake)
        process_trusted(lake)
    return {"seconds": time.perf_counter() - started}


def child_measure(folder: Path, repeat: int) -> dict[str, Any]:
    import polars as pl

    from agrolake.answers.query import query
    from agrolake.lake.tables import TableRef

    lake = _lake()
    ref = TableRef("trusted", "erp.activities")
    table = lake.tables.open(ref)
    assert table is not None
    files = len(table.file_uris())
    # One month of activities. (A filter on a text column fails in DuckDB 2.0 over a
    # pyarrow 25 dataset: it pushes a string_view literal down; see the report.)
    filtered = (
        f"SELECT * FROM {TABLE} WHERE activity_date >= DATE '2023-06-01' "
        "AND activity_date < DATE '2023-07-01'"
    )
    timings: dict[str, list[float]] = {"count": [], "filtered": [], "merge": []}
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = query(lake, f"SELECT count(*) AS n FROM {TABLE}").to_pylist()[0]["n"]
        timings["count"].append(time.perf_counter() - started)
        started = time.perf_counter()
        query(lake, filtered)
        timings["filtered"].append(time.perf_counter() - started)
    current = lake.tables.read(ref)
    assert current is not None
    template = pl.from_arrow(current.slice(0, 20))
    assert isinstance(template, pl.DataFrame)
    for i in range(repeat):
        batch = template.with_columns(pl.lit(f"zz-bench-{i}").alias("_ingest_id"))
        started = time.perf_counter()
        lake.tables.merge(ref, batch.to_arrow(), ["enclosure_id", "activity_date", "task"],
                          ["year"], newer="_ingest_id")  # fmt: skip
        timings["merge"].append(time.perf_counter() - started)
    return {
        "files": files,
        "rows": rows,
        "load": os.getloadavg()[0],
        **{k: statistics.median(v) for k, v in timings.items()},
    }


def child_maintain() -> dict[str, Any]:
    from datetime import timedelta

    from agrolake.maintenance import maintain

    lake = _lake()
    started = time.perf_counter()
    report = maintain(lake, [TABLE], grace=timedelta(0))
    [upkeep] = report.tables
    return {
        "seconds": time.perf_counter() - started,
        "files_before": upkeep.files_before,
        "files_after": upkeep.files_after,
        "removed_files": len(upkeep.removed_files),
        "removed_bytes": upkeep.removed_bytes,
        "removed_log_entries": upkeep.removed_log_entries,
    }


def run(kind: str, home: Path, args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGROLAKE_")}
    env |= {
        "PYTHONPATH": str(ROOT), "AGROLAKE_HOME": str(home), "AGROLAKE_TRAIN_ON_RUN": "false",
        "AGROLAKE_MAINTAIN_AFTER_COMMITS": "0", "AGROLAKE_KEEP_VERSIONS_DAYS": "0",
    }  # fmt: skip
    cmd = [sys.executable, "-m", "bench.table_upkeep", "--child", kind, "--folder",
           str(home.parent / "inputs"), "--ingests", str(args.ingests), "--repeat",
           str(args.repeat), *extra]  # fmt: skip
    done = subprocess.run(cmd, cwd=home.parent, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{kind} {extra}: {result}", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ingests", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", choices=("build", "measure", "maintain"))
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child == "build":
        print(json.dumps(child_build(args.folder, args.ingests, not args.once)))
        return
    if args.child == "measure":
        print(json.dumps(child_measure(args.folder, args.repeat)))
        return
    if args.child == "maintain":
        print(json.dumps(child_maintain()))
        return
    work = Path(tempfile.mkdtemp(prefix="agrolake-bench-upkeep-"))
    try:
        (work / "inputs").mkdir()
        many, once = work / "many" / "home", work / "once" / "home"
        for home in (many, once):
            (home.parent / "inputs").mkdir(parents=True)
        built = {
            "one file a run": run("build", many, args),
            "written once": run("build", once, args, "--once"),
        }
        before = run("measure", many, args)
        upkeep = run("maintain", many, args)
        after = run("measure", many, args)
        written_once = run("measure", once, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"Command: `python -m bench.table_upkeep {' '.join(sys.argv[1:])}`  ",
        f"Machine: {facts.machine(['deltalake', 'duckdb', 'pyarrow'])}  ",
        f"Code: {facts.revision()}  ",
        f"Built in {built['one file a run']['seconds']:.0f} s ({args.ingests:,} runs) and "
        f"{built['written once']['seconds']:.1f} s (one run). Medians of {args.repeat}.",
        "",
        "| table | files | rows | count(*) | filtered | one more MERGE | load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in (("after 1 file a run", before), ("after maintain", after),
                    ("written once", written_once)):  # fmt: skip
        lines.append(
            f"| {name} | {m['files']:,} | {m['rows']:,} | {m['count'] * 1000:.1f} ms "
            f"| {m['filtered'] * 1000:.1f} ms | {m['merge'] * 1000:.0f} ms | {m['load']:.1f} |"
        )
    ratios = ", ".join(f"{k} {after[k] / written_once[k]:.2f}×" for k in ("count", "filtered",
                       "merge"))  # fmt: skip
    lines += [
        "",
        f"After maintain ÷ written once: {ratios} (goal ≤ 1.2×).  ",
        f"maintain: {upkeep['seconds']:.1f} s; files {upkeep['files_before']:,} → "
        f"{upkeep['files_after']:,}; removed {upkeep['removed_files']:,} files "
        f"({upkeep['removed_bytes'] / 1e6:.1f} MB) and {upkeep['removed_log_entries']:,} log "
        "entries.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
