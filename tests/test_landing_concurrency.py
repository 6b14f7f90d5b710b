"""Exactly once across processes: concurrent workers, and a worker killed mid-batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.catalog import RAW
from agrolake.lake.tables import TableRef
from agrolake.samples import WINE_COLUMNS
from agrolake.zones.landing import pending

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def wine_file(i: int) -> bytes:
    """A distinct one-row wine file per ``i`` (distinct bytes: no duplicates)."""
    values = [f"{7 + i / 1000:.3f}", "0.7", "0", "1.9", "0.076", "11", "34", "0.9978", "3.51"]
    return (",".join(WINE_COLUMNS) + "\n" + ",".join([*values, "0.56", "9.4", "5"]) + "\n").encode()


def start_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.landing_worker", *extra],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outcomes(worker: subprocess.Popen[str]) -> list[dict[str, str]]:
    stdout, stderr = worker.communicate(timeout=300)
    assert worker.returncode == 0, stderr
    return [json.loads(line) for line in stdout.splitlines()]


def assert_each_file_once_in_raw(lake: Lake, keys: list[str]) -> None:
    rows = lake.catalog.find(status=RAW)
    assert Counter(r.landing_key for r in rows) == Counter(keys), "one raw ingest per file"
    raw_objects = [o.key for o in lake.store.list("raw")]
    assert len(raw_objects) == len(keys), "one raw object per file"
    assert sorted(raw_objects) == sorted(r.raw_key for r in rows)
    assert list(pending(lake)) == [], "nothing left in landing"


def test_four_processes_share_200_files_exactly_once(lake: Lake, lake_env: dict[str, str]) -> None:
    keys = [f"lote/{i:03d}.csv" for i in range(200)]
    for i, key in enumerate(keys):
        lake.store.put("landing", key, wine_file(i))
    env = {**lake_env, "AGROLAKE_BATCH_SIZE": "8"}

    workers = [start_worker(env) for _ in range(4)]
    results = [outcomes(w) for w in workers]

    done = [o["key"] for result in results for o in result]
    assert Counter(done) == Counter(keys), "every file processed by exactly one worker"
    assert all(o["status"] == "raw" for result in results for o in result)
    assert sum(1 for r in results if r) >= 2, "the work was shared"
    assert_each_file_once_in_raw(lake, keys)


def test_a_killed_workers_files_are_taken_over_at_once_on_its_host(
    lake: Lake, lake_env: dict[str, str]
) -> None:
    """With the default lease: no wait, the process is known to be gone."""
    keys = [f"{i:02d}.csv" for i in range(12)]
    for i, key in enumerate(keys):
        lake.store.put("landing", key, wine_file(i))

    victim = start_worker(lake_env, "--die-at", "finish", "--nth", "5")
    victim.communicate(timeout=120)
    assert victim.returncode == -9, "the first worker was killed mid-batch"
    claimed = lake.catalog.count_by_status()
    assert claimed.get("claimed", 0) > 0, "it died holding claims"

    late = outcomes(start_worker(lake_env))

    assert len(late) == len(keys) - claimed.get("raw", 0)
    assert_each_file_once_in_raw(lake, keys)
    retried = [r for r in lake.catalog.find(status=RAW) if r.attempts == 2]
    assert retried, "the dead worker's files kept their ingest ids and were tried again"


@pytest.mark.parametrize("die_at", ["trusted", "write"])
def test_a_run_right_after_a_kill_in_trusted_finishes_everything(
    lake: Lake, lake_env: dict[str, str], tmp_path: Path, die_at: str
) -> None:
    """Killed after the rows were written (not yet recorded), or inside a MERGE: the next
    run, at once, takes the ingests over and the table holds each file's rows once."""
    from agrolake.pipeline import run_all
    from agrolake.samples import write_activities

    for i in range(6):
        data = write_activities(tmp_path / f"a{i}.csv", rows=8, seed=60 + i).read_bytes()
        lake.store.put("landing", f"actividades_{i}.csv", data)
    victim = start_worker(lake_env, "--all", "--die-at", die_at, "--nth", "1")
    victim.communicate(timeout=300)
    assert victim.returncode == -9
    assert lake.catalog.count_by_status().get("raw", 0) > 0, "it died with ingests in trusted"

    after = run_all(lake)
    assert after.trusted.waiting == {} and after.trusted.failed == {}
    assert lake.catalog.count_by_status() == {"trusted": 6}
    rows = lake.tables.read(TableRef("trusted", "erp.activities"))
    assert rows is not None
    ingests = Counter(rows.column("_ingest_id").to_pylist())
    assert len(ingests) == 6, "every file's rows, each ingest once"
    assert list(pending(lake)) == []


def test_claims_of_a_live_worker_elsewhere_wait_for_their_lease(
    lake: Lake, lake_env: dict[str, str]
) -> None:
    """Another host's worker cannot be checked: its claims hold until the lease ends,
    and a run meanwhile says whom it waits for."""
    from datetime import timedelta

    from agrolake.zones.landing import process_landing

    keys = [f"{i:02d}.csv" for i in range(3)]
    for i, key in enumerate(keys):
        lake.store.put("landing", key, wine_file(i))
    elsewhere = "another-host:4242:abcdef"
    assert len(lake.catalog.claim(list(pending(lake)), elsewhere, timedelta(seconds=3))) == 3

    early = process_landing(lake)
    assert early.outcomes == [] and early.waiting == {elsewhere: 3}
    assert f"waiting for 3 files claimed by {elsewhere}" in early.line()
    time.sleep(3.5)
    late = process_landing(lake)
    assert late.counts == {"raw": 3} and late.waiting == {}
    assert_each_file_once_in_raw(lake, keys)


def test_worker_killed_before_deleting_landing_is_cleaned_up_once(
    lake: Lake, lake_env: dict[str, str]
) -> None:
    keys = [f"{i:02d}.csv" for i in range(4)]
    for i, key in enumerate(keys):
        lake.store.put("landing", key, wine_file(i))
    env = {**lake_env, "AGROLAKE_LEASE_SECONDS": "2"}

    victim = start_worker(env, "--die-at", "delete", "--nth", "2")
    victim.communicate(timeout=120)
    assert victim.returncode == -9
    assert len(list(pending(lake))) == len(keys) - 1, "one recorded file is still in landing"
    time.sleep(2.5)
    late = outcomes(start_worker(env))

    assert len(late) == len(keys) - 1  # the clean-up and the two untouched files
    assert_each_file_once_in_raw(lake, keys)
