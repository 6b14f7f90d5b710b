"""Many small files from landing to refined, against the floor of the same run.

``--files`` distinct 20-row wine CSVs (``write_wine_quality(rows=20, seed=i)``) go from
landing to refined: ``process_landing``, ``process_trusted``, ``process_refined``
(training off), on the embedded lake (local folder + SQLite) and on S3 (SeaweedFS) +
PostgreSQL, both started by this script.

The *floor*, as issue 15 defines it, on the same landing bytes in the same run: read,
sha256 and copy each file to raw, parse each CSV, and write the rows once as Parquet for
trusted and once for refined. It recognises, checks, records and deletes nothing.

Every measurement runs in a fresh child process (floor first, then agrolake), after
imports, the dataset registry, the catalog connection and the store clients are warm;
every repetition has a fresh lake, populated by another child outside the timed region.
The load average is recorded when each measurement starts (the machine is shared).

Run from the repository root::

    .venv/bin/python -m bench.small_files --files 1000 --repeat 3
    .venv/bin/python -m bench.small_files --files 10000 --repeat 1 --backend local

A script, not a test: it measures and reports, it asserts no timing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import secrets
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
from bench.landing import ZONES, s3_env  # noqa: E402

BACKENDS = ("local", "s3")


# --------------------------------------------------------------------------- children


def child_populate(inputs: Path) -> dict[str, Any]:
    from agrolake.lake import Lake

    lake = Lake.from_env()
    lake.init()
    paths = sorted(inputs.iterdir())
    for path in paths:
        lake.store.put("landing", f"lab/{path.name}", path)
    lake.close()
    return {"files": len(paths)}


def _warm() -> Any:
    """One-time costs a long-running worker pays once, outside the timed region."""
    from agrolake.datasets.registry import load_registry
    from agrolake.lake import Lake

    lake = Lake.from_env()
    lake.init()
    lake.catalog.count_by_status()
    for zone in ZONES:
        lake.store.exists(zone, "bench-warm-up")
    return lake, load_registry(lake.settings)


def child_floor() -> dict[str, Any]:
    """Read + sha256 + copy each file, parse each CSV, write the rows twice as Parquet."""
    import polars as pl

    lake, _ = _warm()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    frames = []
    for info in lake.store.list("landing"):
        data = lake.store.read("landing", info.key)
        hashlib.sha256(data).hexdigest()
        lake.store.put("raw", f"floor/{info.key}", data)
        frames.append(pl.read_csv(io.BytesIO(data)))
    rows = pl.concat(frames)
    for zone in ("trusted", "refined"):
        out = io.BytesIO()
        rows.write_parquet(out)
        lake.store.put(zone, "floor/rows.parquet", out.getvalue())
    seconds = time.perf_counter() - started
    lake.close()
    return {"seconds": seconds, "rows": rows.height, "load": load}


def child_agrolake() -> dict[str, Any]:
    from agrolake.zones.landing import process_landing
    from agrolake.zones.refined import process_refined
    from agrolake.zones.trusted import process_trusted

    lake, registry = _warm()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    landing = process_landing(lake)
    landed = time.perf_counter()
    trusted = process_trusted(lake, registry=registry)
    cleaned = time.perf_counter()
    refined = process_refined(lake, registry=registry)
    seconds = time.perf_counter() - started
    lake.close()
    return {
        "seconds": seconds,
        "landing": landed - started,
        "trusted": cleaned - landed,
        "refined": started + seconds - cleaned,
        "counts": dict(landing.counts),
        "rows": sum(w.rows for w in refined.writes),
        "trusted_ingests": len(trusted.ingests),
        "load": load,
    }


# --------------------------------------------------------------------------- parent


def run_child(kind: str, env: dict[str, str], cwd: Path, inputs: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.small_files", "--child", kind, "--inputs", str(inputs)]
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{kind} child failed with {done.returncode}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_inputs(folder: Path, files: int) -> None:
    from agrolake.samples import write_wine_quality

    folder.mkdir(parents=True)
    for i in range(files):
        write_wine_quality(folder / f"vino-{i:05d}.csv", rows=20, seed=i)


def repetition(
    backend: str, work: Path, inputs: Path, services: dict[str, Any]
) -> list[dict[str, Any]]:
    run_dir = work / f"run-{secrets.token_hex(4)}"
    (run_dir / "tmp").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGROLAKE_")}
    env |= {
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(run_dir / "tmp"),
        "AGROLAKE_HOME": str(run_dir / "home"),
        "AGROLAKE_TRAIN_ON_RUN": "false",
        "AGROLAKE_MAINTAIN_AFTER_COMMITS": "0",
    }
    if backend == "s3":
        env |= s3_env(services["s3"], f"b{secrets.token_hex(5)}")
        env["AGROLAKE_CATALOG_URL"] = services["pg"].create_database(f"b{secrets.token_hex(5)}")
    try:
        results = []
        for kind in ("floor", "agrolake"):
            run_child("populate", env, run_dir, inputs) if kind == "floor" else None
            os.sync()
            results.append(
                {"kind": kind, "backend": backend, **run_child(kind, env, run_dir, inputs)}
            )
        return results
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Command: `python -m bench.small_files {' '.join(sys.argv[1:])}`  ",
        f"Machine: {facts.machine(['polars', 'deltalake', 'obstore', 'sqlalchemy'])}  ",
        f"Code: {facts.revision()}  ",
        f"{args.files:,} files, medians of {args.repeat}; load = 1-min load average when "
        "each measurement started.",
        "",
        "| backend | agrolake | landing | trusted | refined | floor | agrolake ÷ floor "
        "| files/s | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for backend in args.backend:
        ours = [r for r in results if (r["backend"], r["kind"]) == (backend, "agrolake")]
        floor = [r for r in results if (r["backend"], r["kind"]) == (backend, "floor")]
        if not ours:
            continue
        median = {k: statistics.median(r[k] for r in ours) for k in ("seconds", "landing",
                  "trusted", "refined")}  # fmt: skip
        f = statistics.median(r["seconds"] for r in floor)
        loads = sorted(r["load"] for r in ours + floor)
        lines.append(
            f"| {backend} | {median['seconds']:.2f} s | {median['landing']:.2f} s "
            f"| {median['trusted']:.2f} s | {median['refined']:.2f} s | {f:.2f} s "
            f"| **{median['seconds'] / f:.2f}×** | {args.files / median['seconds']:,.0f} "
            f"| {loads[0]:.1f}–{loads[-1]:.1f} |"
        )
    runs = "; ".join(f"{r['backend']} {r['kind']} {r['seconds']:.2f}" for r in results)
    return "\n".join([*lines, "", f"Every run (s): {runs}", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=("populate", "floor", "agrolake"))
    parser.add_argument("--inputs", type=Path)
    args = parser.parse_args()
    if args.child:
        children = {"populate": lambda: child_populate(args.inputs), "floor": child_floor,
                    "agrolake": child_agrolake}  # fmt: skip
        print(json.dumps(children[args.child]()))
        return
    work = Path(tempfile.mkdtemp(prefix="agrolake-bench-small-"))
    services: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    try:
        make_inputs(work / "inputs", args.files)
        if "s3" in args.backend:
            from tests.services import start_postgres, start_seaweedfs

            services["s3"] = start_seaweedfs(work / "seaweedfs")
            services["pg"] = start_postgres(work / "postgres")
        for rep in range(args.repeat):
            for backend in args.backend:
                pair = repetition(backend, work, work / "inputs", services)
                results += pair
                shown = ", ".join(f"{r['kind']} {r['seconds']:.2f} s" for r in pair)
                print(f"{backend} #{rep + 1}: {shown} {pair[-1]['counts']}", file=sys.stderr)
    finally:
        for service in services.values():
            service.stop()
        shutil.rmtree(work, ignore_errors=True)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
