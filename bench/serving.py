"""Model serving: agrolake's server against ``mlflow models serve``, same model, same machine.

One run trains ``wine-quality`` on a fresh embedded lake (``--estimator elasticnet``,
the seed's model, by default) and then, for each repetition and in a rotating order,
starts each server on 127.0.0.1, measures it alone, and stops it:

* ``mlflow``: the seed's command, ``mlflow models serve -m models:/wine-quality@champion
  --env-manager local -p PORT --host 127.0.0.1`` (MLflow's CLI process plus its uvicorn
  worker, the sklearn model under ``mlflow.pyfunc``);
* ``agrolake``: ``python -m agrolake.serving --model wine-quality@champion --port PORT``
  (what ``agrolake serve`` runs: the model's ONNX export under onnxruntime);
* ``before`` (with ``--before DIR``): the same command with the agrolake code in ``DIR``
  first on ``PYTHONPATH`` (a checkout of an earlier commit), for a before/after in the
  same run. Releases before issue 16 serve float32 exports only: use it with
  ``--estimator random_forest`` (linear models are now exported in double precision).

Per server: startup time (launch to ``GET /ping`` = 200); **1 row, sequential**: after
``--warmup`` requests, ``--requests`` requests of the seed's body (``dataframe_split``)
one after the other on one keep-alive connection (``http.client``, TCP_NODELAY), p50 and
p99 latency and requests/s; **1,000-row batches**: ``--batches`` requests of 1,000 rows
each, rows/s; **RSS** summed over the server's whole process tree (``psutil``, the
root and all its descendants) after the load, and the process count, then once more
after one Parquet body (agrolake imports pyarrow for the first one). The servers'
predictions for the same 1,000 rows are compared (max relative difference).
Medians over ``--repeat`` repetitions.

Run from the repository root::

    .venv/bin/python -m bench.serving                         # 3 repetitions, ~3 min
    .venv/bin/python -m bench.serving --repeat 1 --requests 500 --batches 10   # smoke
    .venv/bin/python -m bench.serving --estimator random_forest --out bench/results/serving.md
    git worktree add /tmp/before HEAD~1 && \
      .venv/bin/python -m bench.serving --estimator random_forest --before /tmp/before

This is a script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/serving.py
    sys.path.insert(0, str(ROOT))

from tests.serving.helpers import (  # noqa: E402
    SEED_BODY,
    Client,
    ServerProcess,
    clean_env,
    payloads,
    relative_difference,
    start_agrolake,
    start_mlflow_serve,
    wine_rows,
)

MIB = 1024 * 1024
MODEL = "wine-quality@champion"
SERVERS = {
    "mlflow": "`mlflow models serve -m models:/… --env-manager local` (sklearn, mlflow.pyfunc)",
    "before": "agrolake before (`--before`)",
    "agrolake": "**agrolake** `python -m agrolake.serving` (ONNX, onnxruntime)",
}


def train(home: Path, estimator: str) -> str:
    """A fresh embedded lake whose champion is ``estimator`` (trained from 400 wine rows)."""
    for name in list(os.environ):
        if name.startswith(("AGROLAKE_", "MLFLOW_")):
            del os.environ[name]
    cwd = Path.cwd()
    os.chdir(home.parent)  # MLflow's default experiment points at ./mlruns
    try:
        return _train(home, estimator)
    finally:
        os.chdir(cwd)


def _train(home: Path, estimator: str) -> str:
    from agrolake.lake import Lake
    from agrolake.lake.settings import Settings
    from agrolake.ml.training import train_wine_quality
    from agrolake.pipeline import run_all
    from agrolake.samples import write_wine_quality

    lake = Lake(Settings(home=home, train_on_run=False))
    lake.init()
    lake.store.put(
        "landing", "vinos.csv", write_wine_quality(home.parent / "v.csv", rows=400).read_bytes()
    )
    run_all(lake)
    params = {"n_estimators": 60} if estimator == "random_forest" else None
    result = train_wine_quality(lake, estimator=estimator, params=params)
    lake.close()
    return result.line()


def start(kind: str, home: Path, workdir: Path, before: Path | None) -> ServerProcess:
    if kind == "mlflow":
        env = clean_env({"MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"})
        return start_mlflow_serve(f"models:/{MODEL}", env, workdir)
    env = clean_env({"AGROLAKE_HOME": str(home)})
    if kind == "before":
        assert before is not None
        env["PYTHONPATH"] = str(before.resolve())
    return start_agrolake(env, workdir, model=MODEL)


def measure(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    from tests.serving.helpers import tree_rss

    client = Client(server.url)
    for _ in range(args.warmup):
        client.post(SEED_BODY)
    latencies = []
    started = time.perf_counter()
    for _ in range(args.requests):
        t = time.perf_counter()
        response = client.post(SEED_BODY)
        latencies.append(time.perf_counter() - t)
        if response.status != 200:
            raise RuntimeError(f"{server.kind}: {response.status} {response.body[:200]!r}")
    elapsed = time.perf_counter() - started
    batch = payloads(wine_rows(1000, seed=7))["dataframe_split"][1]
    client.post(batch)
    batch_times = []
    for _ in range(args.batches):
        t = time.perf_counter()
        response = client.post(batch)
        batch_times.append(time.perf_counter() - t)
    predictions = response.json()["predictions"]
    rss = tree_rss(server.pid) / MIB
    parquet = client.post(_parquet_body(), "application/vnd.apache.parquet")
    client.close()
    import psutil

    root = psutil.Process(server.pid)
    latencies.sort()
    return {
        "startup_s": server.startup_seconds,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "rps": args.requests / elapsed,
        "batch_p50_ms": statistics.median(batch_times) * 1e3,
        "rows_per_s": 1000 * args.batches / sum(batch_times),
        "rss_mib": rss,
        "rss_parquet_mib": tree_rss(server.pid) / MIB if parquet.status == 200 else None,
        "processes": 1 + len(root.children(recursive=True)),
        "predictions": predictions,
    }


def _parquet_body() -> bytes:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.serving.helpers import FEATURES

    rows = wine_rows(100, seed=3)
    table = pa.table({f: [r[i] for r in rows] for i, f in enumerate(FEATURES)})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _parquet_rss(runs: list[dict[str, Any]]) -> str:
    values = [r["rss_parquet_mib"] for r in runs if r["rss_parquet_mib"] is not None]
    return f"{statistics.median(values):.0f} MiB" if values else "refused"


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, model: str) -> str:
    kinds = [kind for kind in SERVERS if results.get(kind)]
    rows = []
    for kind in kinds:
        runs = results[kind]
        rows.append(
            f"| {SERVERS[kind]} | {runs[0]['processes']} | {median_of(runs, 'rss_mib'):.0f} MiB | "
            f"{_parquet_rss(runs)} | "
            f"{median_of(runs, 'startup_s'):.1f} s | {median_of(runs, 'p50_ms'):.2f} ms | "
            f"{median_of(runs, 'p99_ms'):.2f} ms | {median_of(runs, 'rps'):,.0f} | "
            f"{median_of(runs, 'batch_p50_ms'):.1f} ms | {median_of(runs, 'rows_per_s'):,.0f} |"
        )
    ratios = []
    for baseline in [k for k in kinds if k != "agrolake"]:
        ours, theirs = results["agrolake"], results[baseline]
        diff = max(
            relative_difference(a["predictions"], b["predictions"])
            for a, b in zip(ours, theirs, strict=True)
        )
        ratios.append(
            f"agrolake ÷ {baseline}: **{median_of(ours, 'rps') / median_of(theirs, 'rps'):.2f}×** "
            f"the requests/s at 1 row, "
            f"**{median_of(ours, 'rows_per_s') / median_of(theirs, 'rows_per_s'):.2f}×** the "
            f"rows/s in 1,000-row batches, "
            f"{median_of(ours, 'rss_mib') / median_of(theirs, 'rss_mib'):.2f}× the memory; "
            f"predictions for the same 1,000 rows: max relative difference {diff:.1e}."
        )
    every = "\n".join(
        f"| {kind} | "
        + " / ".join(f"{r['p50_ms']:.2f}" for r in results[kind])
        + " | "
        + " / ".join(f"{r['rps']:,.0f}" for r in results[kind])
        + " | "
        + " / ".join(f"{r['rss_mib']:.0f}" for r in results[kind])
        + " |"
        for kind in kinds
    )
    return f"""Trained: {model.removeprefix("model: ")}.

| Server | processes | RSS (tree) | RSS after a Parquet body | startup | 1 row p50 | 1 row p99 | 1 row req/s | 1,000 rows p50 | rows/s (1,000-row batches) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

{chr(10).join(ratios)}

Every repetition (1-row p50 ms / req/s / RSS MiB):

| Server | p50 | req/s | RSS |
|---|---|---|---|
{every}

{args.requests:,} sequential 1-row requests after {args.warmup} warm-up requests and
{args.batches} × 1,000-row requests per server and repetition; medians of {args.repeat}."""  # noqa: E501


def machine() -> str:
    from bench import facts

    return (
        facts.machine(("mlflow", "onnxruntime", "uvicorn"))
        + " (h11, asyncio loop: neither httptools nor uvloop installed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--estimator", default="elasticnet", choices=["elasticnet", "random_forest"]
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--out", type=Path, help="write the Markdown report here too")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument(
        "--before", type=Path, help="also serve with the agrolake code of this folder"
    )
    args = parser.parse_args()

    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        print(f"training {args.estimator} …", file=sys.stderr)
        model = train(home, args.estimator)
        kinds = [k for k in SERVERS if k != "before" or args.before]
        results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for repetition in range(args.repeat):
            shift = repetition % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                workdir = Path(scratch) / f"{kind}-{repetition}"
                with start(kind, home, workdir, args.before) as server:
                    figures = measure(server, args)
                results[kind].append(figures)
                print(
                    f"{repetition + 1}/{args.repeat} {kind}: p50 {figures['p50_ms']:.2f} ms, "
                    f"{figures['rps']:,.0f} req/s, {figures['rows_per_s']:,.0f} rows/s, "
                    f"RSS {figures['rss_mib']:.0f} MiB",
                    file=sys.stderr,
                )
    text = report(results, args, model)
    from bench import facts

    header = (
        f"Machine: {machine()}.\nDate: {started:%Y-%m-%d %H:%M} UTC; commit {facts.revision()}; "
        f"load (1-min average) {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end.\n\n"
    )
    print(header + text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(header + text + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        for runs in results.values():
            for r in runs:
                r.pop("predictions")
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
