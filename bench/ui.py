"""The lake browser: render time per page (p50/p99) and the server's RSS, on the demo
lake and on a lake with 100 ingests per table.

Two lakes are built in a temporary folder (embedded profile, no network):

* ``demo``: the demo files, files with bad values (quarantined rows of every kind)
  and a trained model: what ``tests/ui`` browses;
* ``100-ingests``: the same, plus 100 more files for each trusted table (field
  activities, wine samples, parcels-and-treatments workbooks, NDVI and AEMET files),
  every one its own ingest, so history, lineage, quality and quarantine lists are long.

For each lake, each server (in rotating order over ``--repeat`` rounds) is started
as its own process on 127.0.0.1, warmed up with ``--warmup`` requests per page, then
asked ``--requests`` times per page, one request at a time on one keep-alive
connection (``http.client``):

* ``agrolake ui``: the command as users run it;
* ``no snapshots`` (baseline): the same app, but every request opens its tables
  afresh (the library's plain ``Tables``), as the CLI's answers do;

and ``/static/style.css`` is the floor of the same server (HTTP, routing, middleware).
RSS is the server process's after the load (``psutil``), with the load average.

Run from the repository root::

    .venv/bin/python -m bench.ui                          # ~6 min
    .venv/bin/python -m bench.ui --lakes demo --requests 20 --repeat 1   # smoke

This is a script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/ui.py
    sys.path.insert(0, str(ROOT))

from bench.facts import machine, revision  # noqa: E402

MIB = 1024 * 1024
PAGES = [
    "/static/style.css",
    "/",
    "/api/status",
    "/datasets/erp.activities",
    "/tables/trusted.weather_daily",
    "/tables/trusted.erp_activities?version=1&page=2",
    "/tables/trusted.erp_activities/preview.csv?page_size=500",
    "/invalid",
    "/quarantine",
    "/quality",
    "/lineage?file=winequality-red.csv",
    "/lineage?table=refined.ml_wine_quality",
    "/lineage?model=wine-quality@champion",
    "/models",
    "/twin",
    "/twin/50-73-0-0-25-338-3",
]
SERVERS = {
    "ui": "**`agrolake ui`**",
    "plain": "no snapshots (every request opens its tables)",
}


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGROLAKE_", "MLFLOW_"))}
    return {**env, "AGROLAKE_HOME": str(home), "AGROLAKE_TRAIN_ON_RUN": "false"}


def build(folder: Path, more: int) -> None:
    """The browsed lake of tests/ui, and ``more`` extra files per trusted table."""
    from agrolake.lake.settings import Settings
    from tests.ui.conftest import build_lake

    os.environ.clear()
    os.environ.update(clean_env(folder / "home"))
    os.chdir(folder)
    lake = build_lake(Settings(), folder)
    if more:
        from agrolake.pipeline import run_all
        from agrolake.zones.uploads import upload

        upload(lake, extra_files(folder / "more", more))
        run_all(lake)
    lake.close()


def extra_files(folder: Path, count: int) -> list[Path]:
    """``count`` files for each trusted table, each with other rows (its own seed)."""
    from agrolake.samples import (
        write_activities,
        write_aemet_daily,
        write_ndvi_csv,
        write_parcels_and_treatments,
        write_wine_quality,
    )
    from agrolake.samples.parcels import make_parcels

    folder.mkdir(parents=True)
    parcels = make_parcels(7, 40)
    files = []
    for i in range(count):
        files += [
            write_activities(
                folder / f"actividades_{i}.csv", rows=20, seed=1000 + i, _parcel_seed=7
            ),
            write_wine_quality(folder / f"winequality_{i}.csv", rows=20, seed=i),
            write_parcels_and_treatments(folder / f"Recintos_{i}.xlsx", rows=4, seed=100 + i),
            write_ndvi_csv(folder / f"ndvi_{i}.csv", parcels[i % 40 : i % 40 + 2], seed=i),
            write_aemet_daily(
                folder / f"aemet_{i}.json",
                date(2024, 3, 1) + timedelta(days=2 * i),
                date(2024, 3, 2) + timedelta(days=2 * i),
                seed=i,
            ),
        ]
    return files


def serve_plain(port: int) -> None:
    """The baseline server: the app over the library's plain tables (no snapshots)."""
    from functools import cached_property

    from agrolake.lake import Lake
    from agrolake.lake.tables import Tables
    from agrolake.ui import snapshots
    from agrolake.ui.webapp import serve

    def plain(self: Lake) -> Tables:
        return Tables(self.settings)

    plain_tables = cached_property(plain)
    plain_tables.__set_name__(snapshots.BrowsedLake, "tables")
    snapshots.BrowsedLake.tables = plain_tables  # type: ignore[assignment,method-assign]
    serve(snapshots.BrowsedLake.from_env(), "127.0.0.1", port)


def start(kind: str, home: Path, port: int) -> subprocess.Popen[bytes]:
    if kind == "ui":
        command = [str(ROOT / ".venv" / "bin" / "agrolake"), "ui", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "bench.ui", "--serve-plain", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/static/style.css")
            connection.getresponse().read()
            return process
        except OSError:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else "died"
                raise RuntimeError(error) from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} did not start")


def measure(port: int, warmup: int, requests: int) -> dict[str, list[float]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: dict[str, list[float]] = {}
    for page in PAGES:
        for n in range(warmup + requests):
            started = time.perf_counter()
            connection.request("GET", page)
            answer = connection.getresponse()
            answer.read()
            elapsed = (time.perf_counter() - started) * 1000
            if answer.status != 200:
                raise RuntimeError(f"{page}: {answer.status}")
            if n >= warmup:
                times.setdefault(page, []).append(elapsed)
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run_lake(name: str, home: Path, args: argparse.Namespace) -> list[str]:
    import psutil

    from tests.ui.live_server import free_port

    samples: dict[str, dict[str, list[float]]] = {k: {} for k in SERVERS}
    rss: dict[str, list[float]] = {k: [] for k in SERVERS}
    loads = []
    kinds = list(SERVERS)
    for round_ in range(args.repeat):
        for kind in kinds[round_ % 2 :] + kinds[: round_ % 2]:
            port = free_port()
            process = start(kind, home, port)
            try:
                for page, values in measure(port, args.warmup, args.requests).items():
                    samples[kind].setdefault(page, []).extend(values)
                rss[kind].append(psutil.Process(process.pid).memory_info().rss / MIB)
                loads.append(os.getloadavg()[0])
            finally:
                process.terminate()
                process.wait(timeout=30)
    header = "| page | " + " | ".join(f"{SERVERS[k]} p50 / p99 ms" for k in SERVERS) + " |"
    lines = [f"### {name}", "", header, "|---|" + "---:|" * len(SERVERS)]
    for page in PAGES:
        cells = []
        for kind in SERVERS:
            values = samples[kind][page]
            cells.append(f"{statistics.median(values):.1f} / {p99(values):.1f}")
        lines.append(f"| `{page}` | " + " | ".join(cells) + " |")
    memory = ", ".join(f"{SERVERS[k]} {statistics.median(v):.0f} MiB" for k, v in rss.items())
    lines += [
        "",
        f"Server RSS after the load (median of {args.repeat}): {memory}. "
        f"Load average (1 min) while measuring: {min(loads):.1f}–{max(loads):.1f}.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lakes", default="demo,100-ingests", help="demo, 100-ingests or both")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--repeat", type=int, default=2, help="rounds, servers in rotating order")
    parser.add_argument("--out", type=Path, help="write the Markdown report here too")
    parser.add_argument(
        "--folder", type=Path, help="build the lakes here and keep them (reused when present)"
    )
    parser.add_argument("--serve-plain", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plain:
        serve_plain(args.serve_plain)
        return
    report = [
        f"Machine: {machine(['starlette', 'jinja2', 'deltalake', 'pyarrow', 'uvicorn'])}.",
        f"Commit: {revision()}. {args.requests} requests per page after {args.warmup} warm-up "
        f"ones, {args.repeat} rounds.",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="agrolake-bench-ui-") as tmp:
        for name in args.lakes.split(","):
            folder = (args.folder or Path(tmp)).resolve() / name
            home = folder / "home"
            if not home.exists():
                folder.mkdir(parents=True)
                started = time.perf_counter()
                build(folder, 100 if name == "100-ingests" else 0)
                print(f"built {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            os.chdir(ROOT)
            report += run_lake(name, home, args)
    text = "\n".join(report)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
