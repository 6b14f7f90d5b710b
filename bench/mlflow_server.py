"""MLflow tracking server memory: agrolake's lean server against ``mlflow server``.

Variants, each started fresh (new database, new bucket) in every repetition:

* ``lean``: :func:`agrolake.ml.tracking_server.server_command`, after its schema migration: one
  uvicorn process serving ``mlflow.server.fastapi_app:app``, no job runner, no
  telemetry, polars/pyarrow/scipy kept out;
* ``lean-all-imports``: the same, but started as plain ``python -m uvicorn`` (MLflow
  imports polars, pyarrow and scipy because they are installed);
* ``mlflow-1w``: ``mlflow server --workers 1`` with ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false``
  (MLflow's own launcher: a CLI parent process plus one uvicorn worker);
* ``mlflow``: ``mlflow server`` with MLflow's defaults
  (:func:`agrolake.ml.tracking_server.default_server_command`: 4 workers, job execution on).

All serve the same backend kind and artifact destination with proxied artifacts: by
default a PostgreSQL database (``pgserver``) and a SeaweedFS bucket, both started by this
script through ``tests.services``; ``--backend sqlite`` uses a SQLite file and a local
folder instead.

For each: time from launch (including a lean server's schema migration) to a healthy
``GET /health``; PSS summed over the server's process tree (``psutil``
``memory_full_info().pss`` of the root and all its descendants) 2 s after startup, and
again 2 s after a client loaded the UI (``GET /``, its main JS and CSS, and the API calls
of the home page), logged 20 runs through the server (params, metrics, a small artifact
each) and loaded the UI again; the process count and summed RSS at that point.

The client runs in a child process that has exited before the measurement: a process
that imported MLflow maps the same libraries as the server, and PSS splits shared pages
between the processes mapping them. (Other Python processes on the machine with the same
venv do the same, so PSS carries some noise; RSS does not, but counts pages shared
between the server's own processes once per process.) Medians over ``--repeat``
repetitions; the variants run in a rotating order.

Run from the repository root::

    .venv/bin/python -m bench.mlflow_server                      # 3 repetitions, ~10 min
    .venv/bin/python -m bench.mlflow_server --repeat 1 --variant lean --backend sqlite
    .venv/bin/python -m bench.mlflow_server --out bench/results/mlflow_server.md

This is a script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/mlflow_server.py
    sys.path.insert(0, str(ROOT))

from agrolake.ml.tracking_server import TrackingServerConfig  # noqa: E402
from tests.services import (  # noqa: E402
    MlflowServer,
    PostgresServer,
    S3Server,
    start_mlflow,
    start_postgres,
    start_seaweedfs,
)

MIB = 1024 * 1024
SETTLE_SECONDS = 2.0  # let lazily started threads and workers finish before measuring

VARIANTS: dict[str, dict[str, Any]] = {
    "lean": {
        "lean": True,
        "label": "**agrolake lean** (`server_command`)",
    },
    "lean-all-imports": {
        "lean": True,
        "skip_optional_imports": False,
        "label": "lean, but polars/pyarrow/scipy imported (`python -m uvicorn …`)",
    },
    "mlflow-1w": {
        "lean": False,
        "extra_args": ["--workers", "1"],
        "extra_env": {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        "label": "`mlflow server --workers 1`, `MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`",
    },
    "mlflow": {"lean": False, "label": "`mlflow server` (defaults)"},
}


# --------------------------------------------------------------------------- measuring


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(processes, PSS bytes, RSS bytes) summed over ``pid`` and all its descendants."""
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]
    count = pss = rss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        count += 1
        pss += info.pss
        rss += info.rss
    return count, pss, rss


def _request(url: str, body: dict[str, Any] | None = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as response:
        body_bytes: bytes = response.read()
        return body_bytes


def load_ui(base: str) -> None:
    """What a browser fetches to show MLflow's home page and experiment list."""
    html = _request(base + "/")
    for asset in re.findall(rb'(?:src|href)="(static-files/static/[^"]+\.(?:js|css))"', html):
        _request(f"{base}/{asset.decode()}")
    _request(base + "/ajax-api/3.0/mlflow/server-info")
    experiments = json.loads(
        _request(base + "/ajax-api/2.0/mlflow/experiments/search", {"max_results": 25})
    ).get("experiments", [])
    ids = [e["experiment_id"] for e in experiments]
    _request(base + "/ajax-api/2.0/mlflow/runs/search", {"experiment_ids": ids, "max_results": 100})
    _request(base + "/ajax-api/2.0/mlflow/registered-models/search?max_results=25")


def log_runs(tracking_uri: str, count: int, scratch: Path) -> None:
    """``count`` runs with params, metrics and a small artifact, through the server."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment_id = client.create_experiment(f"bench-{secrets.token_hex(4)}")
    artifact = scratch / "metrics.json"
    for i in range(count):
        run_id = client.create_run(experiment_id, run_name=f"run-{i}").info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric(name, value, now, step)
                for step in range(5)
                for name, value in (("rmse", 1.0 / (i + step + 1)), ("r2", 0.5 + step / 10))
            ],
            params=[Param("alpha", str(i / 10)), Param("model", "ridge"), Param("seed", str(i))],
        )
        artifact.write_text(json.dumps({"run": i, "rmse": 1.0 / (i + 1)}))
        client.log_artifact(run_id, str(artifact), "eval")
        client.set_terminated(run_id)


def client_main(tracking_uri: str, runs: int, scratch: Path) -> None:
    """The child: load the UI, log the runs, load the UI again; print the runs' time."""
    import mlflow.tracking  # noqa: F401  (its import time is not the server's)

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    load_ui(tracking_uri)
    started = time.monotonic()
    # The client writes "View run ... at ..." to stdout for every run.
    with contextlib.redirect_stdout(io.StringIO()):
        log_runs(tracking_uri, runs, scratch)
    seconds = time.monotonic() - started
    load_ui(tracking_uri)  # the runs list again, now with runs in it
    print(json.dumps({"runs_s": seconds}))


def run_client(tracking_uri: str, runs: int, scratch: Path) -> float:
    """:func:`client_main` in a child process that has exited before we measure: a client
    that imported MLflow would map the same libraries as the server and so halve the
    server's PSS of them."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.mlflow_server", "--client", tracking_uri,
         "--runs", str(runs), "--workdir", str(scratch)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"client failed ({done.returncode}):\n{done.stderr[-3000:]}")
    seconds: float = json.loads(done.stdout.strip().splitlines()[-1])["runs_s"]
    return seconds


# --------------------------------------------------------------------------- one measurement


def measure(
    variant: str,
    backend: str,
    services: dict[str, Any],
    workdir: Path,
    runs: int,
) -> dict[str, Any]:
    if backend == "postgres":
        pg: PostgresServer = services["postgres"]
        s3: S3Server = services["s3"]
        bucket = f"mlflow-{secrets.token_hex(5)}"
        s3.s3_client().create_bucket(Bucket=bucket)
        config = TrackingServerConfig(
            backend_store_uri=pg.create_database(f"mlflow_{secrets.token_hex(5)}"),
            artifacts_destination=f"s3://{bucket}/artifacts",
            s3_env={
                "MLFLOW_S3_ENDPOINT_URL": s3.endpoint_url,
                "AWS_ACCESS_KEY_ID": s3.access_key_id,
                "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
                "AWS_DEFAULT_REGION": s3.region,
            },
        )
    else:
        config = TrackingServerConfig(
            backend_store_uri=f"sqlite:///{workdir / 'mlflow.db'}",
            artifacts_destination=str(workdir / "artifacts"),
        )
    spec = VARIANTS[variant]
    server: MlflowServer = start_mlflow(
        config,
        workdir,
        lean=spec["lean"],
        skip_optional_imports=spec.get("skip_optional_imports", True),
        extra_args=spec.get("extra_args", ()),
        extra_env=spec.get("extra_env"),
    )
    try:
        time.sleep(SETTLE_SECONDS)
        _, pss_idle, _ = tree_memory(server.pid)
        runs_seconds = run_client(server.tracking_uri, runs, workdir)
        time.sleep(SETTLE_SECONDS)
        processes, pss, rss = tree_memory(server.pid)
    finally:
        server.stop()
    return {
        "variant": variant,
        "startup_s": server.startup_seconds,
        "pss_idle": pss_idle,
        "pss": pss,
        "rss": rss,
        "processes": processes,
        "runs_s": runs_seconds,
    }


# --------------------------------------------------------------------------- report


def _mib(value: float) -> str:
    return f"{value / MIB:,.0f} MiB ({value / 1e6:,.0f} MB)"


def report(results: list[dict[str, Any]], args: argparse.Namespace, started: datetime) -> str:
    from importlib.metadata import version

    import psutil

    backend = (
        "PostgreSQL 16 (pgserver, unix socket) + SeaweedFS S3 bucket (proxied artifacts)"
        if args.backend == "postgres"
        else "SQLite file + local artifacts folder (proxied artifacts)"
    )
    lines = [
        f"Command: `.venv/bin/python -m bench.mlflow_server {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Machine: shared VM, nproc = {os.cpu_count()}, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, mlflow "
        f"{version('mlflow')}, uvicorn {version('uvicorn')}.",
        "",
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Backend: {backend}. "
        f"Medians of {args.repeat} repetition(s); {args.runs} runs logged per repetition.",
        "",
        "| Server | Processes | PSS after start | PSS after UI + "
        f"{args.runs} runs | RSS sum after | Startup to healthy | {args.runs} runs logged in |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in args.variant:
        rows = [r for r in results if r["variant"] == variant]
        if not rows:
            continue

        def med(key: str, rows: list[dict[str, Any]] = rows) -> float:
            return statistics.median(r[key] for r in rows)

        lines.append(
            f"| {VARIANTS[variant]['label']} | {med('processes'):.0f} | {_mib(med('pss_idle'))} "
            f"| **{_mib(med('pss'))}** | {_mib(med('rss'))} | {med('startup_s'):.1f} s "
            f"| {med('runs_s'):.1f} s |"
        )
    lines += ["", "Every repetition (PSS after UI + runs, startup), in order:", ""]
    for variant in args.variant:
        rows = [r for r in results if r["variant"] == variant]
        runs_text = " / ".join(f"{r['pss'] / MIB:,.0f} MiB, {r['startup_s']:.1f} s" for r in rows)
        lines.append(f"* {variant}: {runs_text}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20, help="runs logged per measurement")
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--variant", choices=tuple(VARIANTS), action="append", help="default: all, repeatable"
    )
    parser.add_argument("--out", type=Path, help="write the markdown table here too")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--workdir", type=Path, help="keep data and logs here (default: temp)")
    parser.add_argument("--client", metavar="URI", help=argparse.SUPPRESS)  # the child
    args = parser.parse_args(argv)
    if args.client:
        client_main(args.client, args.runs, args.workdir)
        return
    args.variant = args.variant or list(VARIANTS)
    started = datetime.now(UTC)

    with tempfile.TemporaryDirectory(prefix="bench-mlflow-") as tmp:
        base = (args.workdir or Path(tmp)).resolve()
        services: dict[str, Any] = {}
        try:
            if args.backend == "postgres":
                services["postgres"] = start_postgres(base / "postgres")
                services["s3"] = start_seaweedfs(base / "seaweedfs")
            results = []
            for rep in range(args.repeat):
                # Rotate the order, so no variant always runs first (cold caches) or last.
                order = (
                    args.variant[rep % len(args.variant) :]
                    + args.variant[: rep % len(args.variant)]
                )
                for variant in order:
                    result = measure(
                        variant, args.backend, services, base / f"{variant}-{rep}", args.runs
                    )
                    results.append(result)
                    print(
                        f"[{rep + 1}/{args.repeat}] {variant}: {result['processes']} processes, "
                        f"PSS {_mib(result['pss_idle'])} idle, {_mib(result['pss'])} loaded, "
                        f"startup {result['startup_s']:.1f} s, runs {result['runs_s']:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            for service in services.values():
                service.stop()
    text = report(results, args, started)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
