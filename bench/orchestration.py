"""What Prefect costs agrolake's users: cold start and orchestration overhead.

Two scenarios, against a real ``prefect server`` this script starts (SQLite), on the
embedded lake (local folder + SQLite catalog):

* ``cold-start``: ``python -m etl.landing`` on an empty landing zone, as a user or a
  worker runs it, timed from process start to exit. In the same run: the same
  command in Prefect's ephemeral mode (no server; the seed's way), and the same
  library calls without Prefect (``python -c`` opening the lake and landing).
* ``latency``: from an upload to a real S3 server (SeaweedFS, boto3) and its
  event notification posted to ``agrolake webhook``, until the file is in raw,
  and in trusted, with one process worker polling every 2 s; each upload waits
  for the previous run to end, so every one pays a flow run's process start.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import facts  # noqa: E402
from tests.services import start_prefect_server  # noqa: E402

LIBRARY_LANDING = """
from agrolake.lake import open_lake
from agrolake.zones.landing import process_landing
with open_lake() as lake:
    print(process_landing(lake).line())
"""
LIBRARY_ZONES = """
from agrolake.lake import open_lake
from agrolake.zones.landing import process_landing
from agrolake.zones.refined import process_refined
from agrolake.zones.trusted import process_trusted
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
    runs: dict[str, list[float]] = {
        "server": [], "library": [], "import prefect": [], "ephemeral": []
    }  # fmt: skip
    for i in range(repeat):
        runs["server"].append(timed([python, "-m", "etl.landing"], {**env, **server_env}))
        runs["import prefect"].append(timed([python, "-c", "import prefect"], env))
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


def latency(server: Any, work: Path, repeat: int) -> dict[str, list[float]]:
    import json as json_module
    import socket
    import urllib.request

    from agrolake.answers.reports import status
    from agrolake.lake import Lake
    from agrolake.samples import write_wine_quality
    from tests.services import start_prefect_worker, start_seaweedfs

    python_bin = Path(sys.executable).parent
    s3 = start_seaweedfs(work / "s3")
    token = "bench-token"
    env = lake_env(os.environ, work / "latency")
    env |= {
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": s3.endpoint_url,
        "AGROLAKE_S3_ACCESS_KEY_ID": s3.access_key_id,
        "AGROLAKE_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
        "AGROLAKE_S3_REGION": s3.region,
        "AGROLAKE_WEBHOOK_TOKEN": token,
    }
    client_env = {**env, **server.client_env()}
    prefect = str(python_bin / "prefect")
    for argv in (
        [str(python_bin / "agrolake"), "init"],
        [prefect, "work-pool", "create", "local-work", "--type", "process"],
        [prefect, "--no-prompt", "deploy", "--all"],
    ):
        subprocess.run(argv, cwd=ROOT, env=client_env, check=True, capture_output=True)
    poll = _api(server, "GET", "/deployments/name/landing/poll")["id"]
    _api(server, "POST", f"/deployments/{poll}/pause_deployment")
    worker = start_prefect_worker(
        server, work / "worker", pool="local-work", name="bench", env=env, query_seconds=2
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (work / "webhook.log").open("wb")
    receiver = subprocess.Popen(
        [str(python_bin / "agrolake"), "webhook", "--port", str(port)],
        cwd=work, env=client_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for name, value in env.items():
        os.environ[name] = value
    lake = Lake.from_env()
    bucket = lake.settings.bucket_landing
    boto = s3.s3_client()
    runs: dict[str, list[float]] = {"upload → raw": [], "upload → trusted": []}
    try:
        _wait(lambda: _get_ok(f"http://127.0.0.1:{port}/health"), 60)
        for i in range(repeat):
            body = write_wine_quality(work / f"w{i}.csv", rows=20, seed=i).read_bytes()
            started = time.perf_counter()
            boto.put_object(Bucket=bucket, Key=f"lab/vino-{i}.csv", Body=body)
            event = {
                "Records": [
                    {
                        "eventName": "s3:ObjectCreated:Put",
                        "s3": {"bucket": {"name": bucket}, "object": {"key": f"lab/vino-{i}.csv"}},
                    }
                ]
            }
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/s3-events", method="POST",
                data=json_module.dumps(event).encode(),
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            urllib.request.urlopen(request, timeout=10).close()
            _wait(lambda i=i: status(lake)["raw"]["objects"] > i, 120)
            runs["upload → raw"].append(time.perf_counter() - started)
            _wait(lambda i=i: lake.catalog.count_by_status().get("trusted", 0) > i, 120)
            runs["upload → trusted"].append(time.perf_counter() - started)
            time.sleep(8)  # the run ends: the next upload starts a new one
    finally:
        receiver.terminate()
        receiver.wait(30)
        log.close()
        worker.stop()
        lake.close()
        s3.stop()
    return runs


def _api(server: Any, method: str, path: str) -> Any:
    import urllib.request

    request = urllib.request.Request(server.api_url + path, method=method, data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def _get_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s")
        time.sleep(0.2)


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
            f"the library alone {statistics.median(runs['library']):.2f} s; "
            f"`import prefect` alone {statistics.median(runs['import prefect']):.2f} s."
        )
    if "latency" in results:
        runs = results["latency"]
        lines.append(
            f"Upload to raw: {statistics.median(runs['upload → raw']):.1f} s, to trusted "
            f"{statistics.median(runs['upload → trusted']):.1f} s (goal: raw within 15 s)."
        )
    if "overhead" in results:
        runs = results["overhead"]
        ratio = statistics.median(runs["flow"]) / statistics.median(runs["library"])
        lines.append(f"Orchestration overhead: flow / library = {ratio:.2f}× (goal ≤ 1.15×).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", choices=("cold-start", "latency", "overhead"), action="append"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    scenarios = args.scenario or ["cold-start", "latency", "overhead"]
    with tempfile.TemporaryDirectory(prefix="agrolake-bench-orch-") as folder:
        work = Path(folder)
        with start_prefect_server(work / "prefect") as server:
            server_env = server.client_env()
            results: dict[str, dict[str, list[float]]] = {}
            if "cold-start" in scenarios:
                results["cold-start"] = cold_start(server_env, work, args.repeat)
            if "latency" in scenarios:
                results["latency"] = latency(server, work, args.repeat)
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
