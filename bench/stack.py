"""The stack's footprint and start time: ``agrolake stack up`` against ``mlflow server``.

Each repetition, on a fresh ``AGROLAKE_HOME``:

1. ``agrolake stack up`` on the new home (first start: initdb, the schemas of the
   catalog and MLflow, the deployments) until every service is healthy: its wall time;
2. PSS of each service (summed over its process tree) and of supervisord, idle, after
   the services settled;
3. one upload with boto3, timed until its rows are in trusted (no other command);
4. 100 uploads of small wine files with boto3, until every one is in trusted and the
   retraining they trigger finished; PSS of each service again, once idle;
5. ``agrolake stack down``, then ``up`` again on the same home (a restart: the data,
   the schemas and the deployments are there): its wall time; then ``down``.

The baseline, measured in the same run against the stack's own PostgreSQL and S3:
``mlflow server`` with MLflow's defaults (what the seed ran), its time to a healthy
``/health`` and its PSS after start. The load average is taken before and after.

With ``--compare``, each repetition also runs steps 1 to 4 on a stack without the
plan's memory settings (``agrolake.stack.programs.MEMORY_SETTINGS`` emptied in the
``agrolake stack`` process), on a fresh home; the two alternate which goes first.

Run from the repository root::

    .venv/bin/python -m bench.stack --repeat 3            # ~5 min per repetition
    .venv/bin/python -m bench.stack --repeat 1 --out bench/results/stack.md
    .venv/bin/python -m bench.stack --repeat 3 --compare  # also without the memory settings

A script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/stack.py
    sys.path.insert(0, str(ROOT))

from bench.facts import machine, revision  # noqa: E402
from bench.mlflow_server import tree_memory  # noqa: E402
from tests.test_stack import client_environ  # noqa: E402

if TYPE_CHECKING:
    from agrolake.stack.identities import Role

MIB = 1024 * 1024
SETTLE_SECONDS = 10.0
AGROLAKE = str(Path(sys.executable).parent / "agrolake")
#: ``agrolake`` with the plan's memory settings emptied (the stack as it was without them).
WITHOUT_MEMORY_SETTINGS = (
    "import sys; import agrolake.stack.programs as p; p.MEMORY_SETTINGS.clear(); "
    "from agrolake.cli import main; sys.argv[0] = 'agrolake'; main()"
)


def stack(home: Path, *args: str, settings: bool = True) -> float:
    """Run ``agrolake stack ARGS`` (``settings=False``: without the memory settings)."""
    command = [AGROLAKE] if settings else [sys.executable, "-c", WITHOUT_MEMORY_SETTINGS]
    started = time.monotonic()
    done = subprocess.run(
        [*command, "stack", *args], env=client_environ(home), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"agrolake stack {' '.join(args)} failed:\n{done.stderr[-4000:]}")
    return time.monotonic() - started


def status(home: Path) -> dict[str, Any]:
    from agrolake.lake.settings import Settings
    from agrolake.stack.lifecycle import Stack

    return {s.name: s for s in Stack(Settings(home=home)).status()}


def client_env(home: Path, role: Role = "worker") -> dict[str, str]:
    from agrolake.lake.settings import Settings
    from agrolake.stack.lifecycle import Stack

    return Stack(Settings(home=home)).env(role)


def footprint(home: Path) -> dict[str, float]:
    """PSS (MiB) per service, supervisord's and the total."""
    from agrolake.stack.layout import StackLayout

    time.sleep(SETTLE_SECONDS)
    found = {n: tree_memory(s.pid)[1] / MIB for n, s in status(home).items() if s.pid}
    pid = int(StackLayout.under(home).pid_file.read_text())
    import psutil

    found["supervisord"] = psutil.Process(pid).memory_full_info().pss / MIB
    found["total"] = sum(found.values())
    return found


def wait(what: str, check: Callable[[], bool], timeout: float = 600) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - started


def lake_of(env: dict[str, str]) -> Any:
    from agrolake.lake import Lake
    from agrolake.lake.settings import Settings

    fields = {k.removeprefix("AGROLAKE_").lower(): v for k, v in env.items() if "AGROLAKE_" in k}
    return Lake(Settings(**fields))


def trusted_ingests(lake: Any) -> int:
    from agrolake.lake.catalog import TRUSTED

    return int(lake.catalog.count_by_status().get(TRUSTED, 0))


def retrained(env: dict[str, str], versions: int) -> bool:
    import urllib.request

    query = "filter=name%3D%27wine-quality%27"
    url = f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/model-versions/search?{query}"
    token = {"Authorization": f"Bearer {env['MLFLOW_TRACKING_TOKEN']}"}  # the stack's
    with urllib.request.urlopen(urllib.request.Request(url, headers=token), timeout=10) as response:
        return len(json.loads(response.read()).get("model_versions", [])) >= versions


def uploads(home: Path, scratch: Path) -> dict[str, float]:
    """One upload timed to trusted, then 100 more; the times."""
    import boto3

    from agrolake.samples import write_wine_quality

    env = client_env(home)
    uploader = client_env(home, "uploader")  # what an uploader is given: put into landing
    s3 = boto3.client(
        "s3",
        endpoint_url=uploader["AGROLAKE_S3_ENDPOINT_URL"],
        aws_access_key_id=uploader["AGROLAKE_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=uploader["AGROLAKE_S3_SECRET_ACCESS_KEY"],
        region_name=uploader["AGROLAKE_S3_REGION"],
    )
    bucket = env["AGROLAKE_BUCKET_LANDING"]
    lake = lake_of(env)
    try:
        first = write_wine_quality(scratch / "first.csv", rows=200, seed=0)
        started = time.monotonic()
        s3.upload_file(str(first), bucket, "lab/first.csv")
        one = wait("one upload in trusted", lambda: trusted_ingests(lake) >= 1)
        wait("the first model", lambda: retrained(env, 1))
        bodies = [
            write_wine_quality(scratch / f"w{i}.csv", rows=20, seed=100 + i).read_bytes()
            for i in range(100)
        ]
        started = time.monotonic()
        for i, body in enumerate(bodies):
            s3.put_object(Bucket=bucket, Key=f"lab/burst/w{i:03d}.csv", Body=body)
        burst = wait("100 uploads in trusted", lambda: trusted_ingests(lake) >= 101)
        wait("the retraining after them", lambda: retrained(env, 2))
        return {"one_upload_to_trusted": one, "hundred_uploads_to_trusted": burst,
                "hundred_then_retrained": time.monotonic() - started}  # fmt: skip
    finally:
        lake.close()


def baseline_mlflow(home: Path, scratch: Path) -> dict[str, float]:
    """``mlflow server`` with MLflow's defaults on the stack's PostgreSQL and S3."""
    from agrolake.ml.tracking_server import TrackingServerConfig
    from agrolake.stack.preparation import connect_postgres
    from tests.services import start_mlflow

    env = client_env(home)
    database = f"mlflow_baseline_{secrets.token_hex(4)}"
    with connect_postgres(env["AGROLAKE_CATALOG_URL"]) as connection:
        connection.execute(f"CREATE DATABASE {database}")
    backend = env["AGROLAKE_CATALOG_URL"].rsplit("/", 1)[0] + f"/{database}"
    s3_env = {
        "MLFLOW_S3_ENDPOINT_URL": env["AGROLAKE_S3_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": env["AGROLAKE_S3_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": env["AGROLAKE_S3_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": env["AGROLAKE_S3_REGION"],
    }
    config = TrackingServerConfig(backend, "s3://mlflow/baseline", s3_env=s3_env)
    server = start_mlflow(config, scratch / "mlflow-baseline", lean=False)
    try:
        time.sleep(SETTLE_SECONDS)
        count, pss, _ = tree_memory(server.pid)
        return {"startup": server.startup_seconds, "pss": pss / MIB, "processes": count}
    finally:
        server.stop()


def without_settings(scratch: Path) -> dict[str, Any]:
    """Steps 1 to 4 on a fresh home, without the plan's memory settings."""
    home = scratch / "home-without"
    (scratch / "without").mkdir(exist_ok=True)
    result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    try:
        stack(home, "up", settings=False)
        result["idle"] = footprint(home)
        uploads(home, scratch / "without")
        result["after_uploads"] = footprint(home)
    finally:
        stack(home, "down", settings=False)
    result["load_after"] = os.getloadavg()[0]
    return result


def repetition(scratch: Path, compare: bool = False, first: bool = False) -> dict[str, Any]:
    if compare and first:
        without = without_settings(scratch)
    home = scratch / "home"
    result: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    try:
        result["first_up"] = stack(home, "up")
        result["idle"] = footprint(home)
        result["times"] = uploads(home, scratch)
        result["after_uploads"] = footprint(home)
        result["baseline"] = baseline_mlflow(home, scratch)
        stack(home, "down")
        result["restart_up"] = stack(home, "up")
    finally:
        stack(home, "down")
    result["load_after"] = os.getloadavg()[0]
    if compare:
        result["without"] = without if first else without_settings(scratch)
    return result


def report(results: list[dict[str, Any]], started: datetime) -> str:
    def med(get: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(get(r) for r in results)

    names = list(results[0]["idle"])
    lines = [
        f"`bench/stack.py`, {len(results)} repetition(s), commit {revision()}, "
        f"{started:%Y-%m-%d %H:%M} UTC; {machine(['supervisor', 'prefect', 'mlflow'])}.",
        "Load average (1 min) before/after each repetition: "
        + ", ".join(f"{r['load_before']:.1f}/{r['load_after']:.1f}" for r in results)
        + ".",
        "",
        "| service | PSS idle (MiB) | PSS after 100 uploads (MiB) |",
        "|---|---:|---:|",
    ]
    compared = "without" in results[0]
    if compared:
        lines[1] += (
            " Without the memory settings: "
            + ", ".join(
                f"{r['without']['load_before']:.1f}/{r['without']['load_after']:.1f}"
                for r in results
            )
            + "."
        )
        lines[3:5] = [
            "| service | PSS idle (MiB) | after 100 uploads | without the memory settings: "
            "idle | after 100 uploads |",
            "|---|---:|---:|---:|---:|",
        ]
    for name in names:
        cells = [med(lambda r, n=name: r["idle"][n]), med(lambda r, n=name: r["after_uploads"][n])]
        if compared:
            cells += [
                med(lambda r, n=name: r["without"]["idle"][n]),
                med(lambda r, n=name: r["without"]["after_uploads"][n]),
            ]
        bold = "**" if name == "total" else ""
        shown = " | ".join(f"{bold}{c:.0f}{bold}" for c in cells)
        lines.append(f"| {bold}{name}{bold} | {shown} |")
    base = med(lambda r: r["baseline"]["pss"])
    lean = med(lambda r: r["idle"]["mlflow"])
    lines += [
        "",
        "| measurement (median) | value |",
        "|---|---:|",
        f"| `agrolake stack up`, new home, to every service healthy | "
        f"{med(lambda r: r['first_up']):.1f} s |",
        f"| `agrolake stack up` again after `down` (same home) | "
        f"{med(lambda r: r['restart_up']):.1f} s |",
        f"| one boto3 upload to its rows in trusted | "
        f"{med(lambda r: r['times']['one_upload_to_trusted']):.1f} s |",
        f"| 100 boto3 uploads to all in trusted | "
        f"{med(lambda r: r['times']['hundred_uploads_to_trusted']):.1f} s |",
        f"| baseline: `mlflow server` (defaults) to healthy, same PostgreSQL and S3 | "
        f"{med(lambda r: r['baseline']['startup']):.1f} s |",
        f"| baseline: `mlflow server` (defaults) PSS after start, "
        f"{med(lambda r: r['baseline']['processes']):.0f} processes | {base:.0f} MiB |",
        f"| the stack's lean MLflow, idle | {lean:.0f} MiB ({base / lean:.1f}× less) |",
        f"| the whole stack, idle | {med(lambda r: r['idle']['total']):.0f} MiB |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also measure a stack without the plan's memory settings, each repetition",
    )
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    results = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="bench-stack-") as scratch:
            results.append(repetition(Path(scratch), args.compare, first=i % 2 == 1))
        print(f"repetition {i + 1}: {json.dumps(results[-1], default=str)}", file=sys.stderr)
    text = report(results, started)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
