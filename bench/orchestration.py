"""What Prefect costs agrolake's users: cold start and orchestration overhead.

Two scenarios, against a real ``prefect server`` this script starts (SQLite), on the
embedded lake (local folder + SQLite catalog):

* ``cold-start``: ``python -m etl.landing`` on an empty landing zone, as a user or a
  worker runs it, timed from process start to exit. In the same run: the same
  command in Prefect's ephemeral mode (no server; the seed's way), and the same
  library calls without Prefect (``python -c`` opening the lake and landing).
* ``overhead``: ``--files`` small wine files (2 rows each, distinct bytes) through
  landing → raw → trusted → refined, by the ``landing`` flow (``downstream=True``,
  as the deployments run it) against the same library calls without Prefect, each
  in a fresh process. Landing is filled before the clock starts; every repetition
  gets a fresh lake. The two alternate, so drift on a shared machine hits both.

Each figure is the median of ``--repeat`` runs; the ratios are what to read, as the
machine may be shared. Run from the repository root::

    .venv/bin/python -m bench.orchestration                 # both scenarios
    .venv/bin/python -m bench.orchestration --scenario cold-start --repeat 7
    .venv/bin/python -m bench.orchestration --files 200 --out bench/results/orchestration.md

This is a script, not a test: it measures and reports, it asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import facts  # noqa: E402
from tests.services import start_prefect_server  # noqa: E402

LIBRARY_LANDING = """
from agrolake.lake import open_lake
from agrolake.landing import process_landing
with open_lake() as lake:
    print(process_landing(lake).line())
"""
LIBRARY_ZONES = """
from agrolake.lake import open_lake
from agrolake.landing import process_landing
from agrolake.refined import process_refined
from agrolake.trusted import process_trusted
with open_lake() as lake:
    print(process_landing(lake).line())
    print(process_trusted(lake).line())
    print(process_refined(lake).line())
"""
FLOW_ZONES = """
from etl.landing import landing
landing(downstream=True)
"""
POPULATE = """
import sys
from pathlib import Path
from agrolake.lake import Lake
from agrolake.samples import write_wine_quality
lake = Lake.from_env()
lake.init()
folder = Path(sys.argv[1])
for i in range(int(sys.argv[2])):
    path = write_wine_quality(folder / f"vino-{i:04d}.csv", rows=2, seed=i)
    lake.store.put("landing", f"lab/{path.name}", path)
lake.close()
"""


def timed(argv: list[str], env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=dict(env), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return seconds


def lake_env(base: Mapping[str, str], home: Path) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("AGROLAKE_")}
    return {**env, "AGROLAKE_HOME": str(home), "AGROLAKE_TRAIN_ON_RUN": "false"}


def cold_start(server_env: Mapping[str, str], work: Path, repeat: int) -> dict[str, list[float]]:
    python = sys.executable
    env = lake_env(os.environ, work / "cold")
    subprocess.run([python, "-m", "agrolake", "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    ephemeral = {
        **{k: v for k, v in env.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(work / "ephemeral-prefect"),
    }
    runs: dict[str, list[float]] = {"server": [], "library": [], "ephemeral": []}
    for i in range(repeat):
        runs["server"].append(timed([python, "-m", "etl.landing"], {**env, **server_env}))
        runs["library"].append(timed([python, "-c", LIBRARY_LANDING], env))
        if i < max(2, repeat // 2):  # ephemeral runs take 10 s and more each
            runs["ephemeral"].append(timed([python, "-m", "etl.landing"], ephemeral))
    return runs


def overhead(
    server_env: Mapping[str, str], work: Path, repeat: int, files: int
) -> dict[str, list[float]]:
    python = sys.executable
    runs: dict[str, list[float]] = {"flow": [], "library": []}
    for i in range(repeat):
        order = ("flow", "library") if i % 2 == 0 else ("library", "flow")
        for kind in order:
            home = work / f"overhead-{kind}-{i}"
            env = lake_env(os.environ, home)
            inputs = home / "inputs"
            inputs.mkdir(parents=True)
            subprocess.run([python, "-c", POPULATE, str(inputs), str(files)], cwd=ROOT,
                           env=env, check=True)  # fmt: skip
            if kind == "flow":
                runs[kind].append(timed([python, "-c", FLOW_ZONES], {**env, **server_env}))
            else:
                runs[kind].append(timed([python, "-c", LIBRARY_ZONES], env))
    return runs


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> str:
    load = os.getloadavg()
    lines = [
        "# Orchestration benchmark",
        "",
        f"- machine: {facts.machine(['prefect', 'polars', 'deltalake'])}",
        f"- revision: {facts.revision()}",
        f"- load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
        f"- repetitions: {args.repeat} (medians); files in `overhead`: {args.files}",
        "",
        "| scenario | measurement | median s | runs |",
        "|---|---|---:|---|",
    ]
    for scenario, runs in results.items():
        for name, values in runs.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            lines.append(f"| {scenario} | {name} | {statistics.median(values):.2f} | {shown} |")
    lines.append("")
    if "cold-start" in results:
        runs = results["cold-start"]
        lines.append(
            f"Cold start against a running server: {statistics.median(runs['server']):.2f} s "
            f"(goal ≤ 3 s); ephemeral mode {statistics.median(runs['ephemeral']):.2f} s; "
            f"the library alone {statistics.median(runs['library']):.2f} s."
        )
    if "overhead" in results:
        runs = results["overhead"]
        ratio = statistics.median(runs["flow"]) / statistics.median(runs["library"])
        lines.append(f"Orchestration overhead: flow / library = {ratio:.2f}× (goal ≤ 1.15×).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("cold-start", "overhead"), action="append")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scenarios = args.scenario or ["cold-start", "overhead"]
    with tempfile.TemporaryDirectory(prefix="agrolake-bench-orch-") as folder:
        work = Path(folder)
        with start_prefect_server(work / "prefect") as server:
            server_env = server.client_env()
            results: dict[str, dict[str, list[float]]] = {}
            if "cold-start" in scenarios:
                results["cold-start"] = cold_start(server_env, work, args.repeat)
            if "overhead" in scenarios:
                results["overhead"] = overhead(server_env, work, args.repeat, args.files)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
