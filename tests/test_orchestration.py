"""Prefect end to end: prefect.yaml deployed to a real `prefect server`, process
workers, uploads to a real S3 server with boto3, S3 event notifications posted to
`agrolake webhook`, and files reaching trusted with nobody touching anything else."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from agrolake.answers.reports import status
from agrolake.lake import Lake
from agrolake.samples import write_activities, write_wine_quality
from tests.conftest import s3_env
from tests.services import (
    PostgresServer,
    PrefectServer,
    PrefectWorker,
    S3Server,
    _free_port,
    start_prefect_worker,
)
from tests.test_webhook import notification

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "test-webhook-token"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# ---------------------------------------------------------------- Prefect API helpers


def _busy(exc: BaseException) -> bool:
    return isinstance(exc, urllib.error.HTTPError) and exc.code in (429, 503)


# Prefect's SQLite server answers 503 while its database is locked (workers polling,
# runs being written): retried as Prefect's own client does.
@retry(
    retry=retry_if_exception(_busy),
    wait=wait_exponential(multiplier=0.5, max=5),
    stop=stop_after_attempt(10),
    reraise=True,
)
def api(server: PrefectServer, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        server.api_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def flow_runs(server: PrefectServer, deployment_id: str, since: datetime) -> list[dict[str, Any]]:
    return [
        run
        for run in api(
            server,
            "POST",
            "/flow_runs/filter",
            {"deployments": {"id": {"any_": [deployment_id]}}, "limit": 200},
        )
        if datetime.fromisoformat(run["created"]) >= since
    ]


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, diagnose: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    pytest.fail(f"{what} not reached after {timeout:.0f} s\n{diagnose()}")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def deployments(prefect_server: PrefectServer) -> dict[str, str]:
    """Every deployment of prefect.yaml on the pool `local-work`, as the README says.

    The minute poll is paused here, so what moves files in these tests is the event
    receiver (or the runs a test starts itself)."""
    env = {**os.environ, **prefect_server.client_env()}
    prefect = str(BIN / "prefect")
    for argv in (
        [prefect, "work-pool", "create", "local-work", "--type", "process"],
        [prefect, "--no-prompt", "deploy", "--all"],
    ):
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ids = {name: api(prefect_server, "GET", f"/deployments/name/{name}")["id"] for name in (
        "landing/on-upload", "landing/poll", "trusted/trusted", "refined/refined", "lake/lake",
        "train-wine-quality/retrain", "weather/weekly", "ndvi/weekly", "maintain/weekly",
    )}  # fmt: skip
    assert len(api(prefect_server, "POST", "/deployments/filter", {})) == len(ids)
    api(prefect_server, "POST", f"/deployments/{ids['landing/poll']}/pause_deployment")
    return ids


@pytest.fixture
def lake_env(s3_server: S3Server, postgres: PostgresServer, tmp_path: Path) -> dict[str, str]:
    """A fresh lake on S3 + PostgreSQL, as the workers' environment (overrides the
    conftest fixture, so its `lake` is this one)."""
    env = s3_env(s3_server, f"o{secrets.token_hex(5)}")
    env["AGROLAKE_CATALOG_URL"] = postgres.create_database(f"o{secrets.token_hex(6)}")
    env["AGROLAKE_HOME"] = str(tmp_path / "home")  # MLflow's embedded store for retraining
    return env


@pytest.fixture
def workers(
    request: pytest.FixtureRequest,
    prefect_server: PrefectServer,
    deployments: dict[str, str],
    lake_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[list[PrefectWorker]]:
    count = getattr(request, "param", 1)
    started = [
        start_prefect_worker(
            prefect_server, tmp_path / "workers", pool="local-work", name=f"w{i}-{tmp_path.name}",
            env={**lake_env, "AGROLAKE_TRAIN_ON_RUN": "false"}, limit=2 if count > 1 else None,
        )
        for i in range(count)
    ]  # fmt: skip
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def receiver(
    prefect_server: PrefectServer, deployments: dict[str, str], lake_env: dict[str, str],
    tmp_path: Path,
) -> Iterator[str]:  # fmt: skip
    """`agrolake webhook` on a free port; its URL."""
    port = _free_port()
    env = {
        **os.environ,
        **lake_env,
        **prefect_server.client_env(),
        "AGROLAKE_WEBHOOK_TOKEN": TOKEN,
    }
    log = (tmp_path / "webhook.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "agrolake"), "webhook", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail((tmp_path / "webhook.log").read_text())
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(30)
    log.close()


def post_event(url: str, bucket: str, key: str, token: str = TOKEN) -> int:
    request = urllib.request.Request(
        url + "/s3-events",
        method="POST",
        data=json.dumps(notification(bucket, key)).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def diagnose(workers: list[PrefectWorker], lake: Lake) -> Callable[[], str]:
    def text() -> str:
        logs = "\n".join(f"--- {w.name}\n{w.log()[-4000:]}" for w in workers)
        return f"status: {json.dumps(status(lake), default=str)}\n{logs}"

    return text


# ---------------------------------------------------------------- tests


def test_api_flows_and_retraining_run_weekly_as_in_the_seed(
    prefect_server: PrefectServer, deployments: dict[str, str]
) -> None:
    for name in ("weather/weekly", "ndvi/weekly", "train-wine-quality/retrain"):
        found = api(prefect_server, "GET", f"/deployments/{deployments[name]}")
        [schedule] = [s["schedule"] for s in found["schedules"]]
        assert (schedule["cron"], schedule["timezone"]) == ("0 0 * * SUN", "Europe/Madrid")
        assert found["work_pool_name"] == "local-work"
    poll = api(prefect_server, "GET", f"/deployments/{deployments['landing/poll']}")
    assert [s["schedule"]["interval"] for s in poll["schedules"]] == [60.0]
    upkeep = api(prefect_server, "GET", f"/deployments/{deployments['maintain/weekly']}")
    [schedule] = [s["schedule"] for s in upkeep["schedules"]]
    assert (schedule["cron"], schedule["timezone"]) == ("0 3 * * SUN", "Europe/Madrid")
    retrain = api(prefect_server, "POST", "/automations/filter", {})
    assert any(
        t.get("expect") == ["agrolake.table.updated"]
        and t.get("match", {}).get("prefect.resource.id")
        == "agrolake.table.refined.ml_wine_quality"
        for t in (a["trigger"] for a in retrain)
    )


def test_a_wake_queues_one_run_and_ignores_runs_not_due(
    prefect_server: PrefectServer, deployments: dict[str, str]
) -> None:
    """No worker serves the pool here, so queued runs stay Scheduled."""
    import asyncio

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from etl.wake import queue_run_unless_waiting

    deployment = deployments["landing/on-upload"]
    tomorrow = api(prefect_server, "POST", f"/deployments/{deployment}/create_flow_run", {
        "state": {"type": "SCHEDULED", "state_details": {
            "scheduled_time": (datetime.now(UTC).replace(microsecond=0)
                               + timedelta(days=1)).isoformat()}},
    })["id"]  # fmt: skip
    created: list[str] = [tomorrow]
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server.api_url}):
            first = asyncio.run(queue_run_unless_waiting(UUID(deployment)))
            assert first is not None, "a run set for tomorrow does not count as waiting"
            created.append(str(first))
            again = asyncio.run(queue_run_unless_waiting(UUID(deployment)))
            assert again is None, "the run just queued has not started: no second one"
    finally:
        for run in created:
            api(prefect_server, "DELETE", f"/flow_runs/{run}")


def test_an_upload_with_any_s3_client_reaches_trusted_and_retrains(
    prefect_server: PrefectServer,
    deployments: dict[str, str],
    lake: Lake,
    workers: list[PrefectWorker],
    receiver: str,
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    since = datetime.now(UTC)
    bucket = lake.settings.bucket_landing
    s3 = s3_server.s3_client()
    uploads = {
        "lab 2024/vino tinto.csv": write_wine_quality(tmp_path / "w.csv", rows=60),
        "erp/actividades.csv": write_activities(tmp_path / "a.csv", rows=40, seed=5),
    }
    for key, path in uploads.items():
        s3.upload_file(str(path), bucket, key)

    assert post_event(receiver, bucket, "x.csv", token="wrong") == 401
    for key in uploads:
        assert post_event(receiver, bucket, key) == 202

    def in_trusted_and_refined() -> bool:
        found = status(lake)
        return {"trusted.lab_wine_quality", "trusted.erp_activities"} <= set(
            found["trusted"]
        ) and "refined.ml_wine_quality" in found["refined"]

    wait_for("both files in trusted", in_trusted_and_refined, 180, diagnose(workers, lake))
    report = status(lake)
    assert report["raw"]["objects"] == 2 and report["landing"]["pending"] == 0
    assert report["trusted"]["trusted.lab_wine_quality"]["rows"] == 60
    assert "refined.ml_wine_quality" in report["refined"]

    runs = flow_runs(prefect_server, deployments["landing/on-upload"], since)
    assert 1 <= len(runs) <= 2
    assert all("s3-event" in run["tags"] for run in runs)

    # The new table versions were announced, and the retraining deployment's trigger
    # on refined.ml_wine_quality started a run that trained and registered a model.
    def announced() -> set[str]:
        events = api(prefect_server, "POST", "/events/filter", {
            "filter": {"event": {"name": ["agrolake.table.updated"]},
                       "occurred": {"since": since.isoformat()}},
            "limit": 50,
        })["events"]  # fmt: skip
        return {e["resource"]["agrolake.table"] for e in events}

    expected = {"trusted.lab_wine_quality", "refined.ml_wine_quality"}
    # The server stores events asynchronously: give it a moment.
    wait_for("table events", lambda: expected <= announced(), 60, lambda: str(announced()))

    def retrained() -> bool:
        found = flow_runs(prefect_server, deployments["train-wine-quality/retrain"], since)
        return any(run["state_type"] in TERMINAL for run in found)

    wait_for("a retraining run", retrained, 240, diagnose(workers, lake))
    [run] = [
        r
        for r in flow_runs(prefect_server, deployments["train-wine-quality/retrain"], since)
        if r["state_type"] in TERMINAL
    ][:1]
    assert run["state_type"] == "COMPLETED", diagnose(workers, lake)()
    assert run["parameters"] == {"only_if_new": True}
    from agrolake.ml.tracking import MODEL_NAME, client

    champion = client(lake.settings).get_model_version_by_alias(MODEL_NAME, "champion")
    assert int(champion.version) == 1


def ingest_facts(lake: Lake) -> dict[str, int]:
    from sqlalchemy import text

    with lake.catalog.engine.connect() as connection:
        row = connection.execute(text(
            "SELECT count(*), count(DISTINCT sha256), count(DISTINCT raw_key),"
            " count(DISTINCT claimed_by) FROM ingests WHERE status IN ('raw', 'trusted')"
        )).one()  # fmt: skip
    return dict(zip(("raw", "contents", "raw_keys", "claimers"), row, strict=True))


def trusted_wine_ingests(lake: Lake) -> dict[str, int]:
    """Rows per ingest id in trusted.lab_wine_quality."""
    import polars as pl

    from agrolake.datasets.registry import load_registry

    refs = load_registry(lake.settings).trusted_refs()
    [ref] = [r for r in refs if r.sql_name == "trusted.lab_wine_quality"]
    dataset = lake.tables.dataset(ref)
    assert dataset is not None
    counts = pl.scan_pyarrow_dataset(dataset).group_by("_ingest_id").len().collect()
    return dict(zip(counts["_ingest_id"], counts["len"], strict=True))


def test_a_burst_of_500_uploads_costs_a_few_flow_runs_and_lands_each_file_once(
    prefect_server: PrefectServer,
    deployments: dict[str, str],
    lake: Lake,
    workers: list[PrefectWorker],
    receiver: str,
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    files, rows = 500, 2
    since = datetime.now(UTC)
    bucket = lake.settings.bucket_landing
    s3 = s3_server.s3_client()
    bodies = {
        f"lab/burst/vino-{i:03d}.csv": write_wine_quality(
            tmp_path / f"w{i}.csv", rows=rows, seed=i
        ).read_bytes()
        for i in range(files)
    }

    def upload_and_notify(key: str) -> int:
        # As a store does it: the object is written, then its notification is sent.
        s3.put_object(Bucket=bucket, Key=key, Body=bodies[key])
        return post_event(receiver, bucket, key)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload_and_notify, bodies))
    assert answers == [202] * files

    wait_for(
        "every file in trusted",
        lambda: (
            sum(trusted_wine_ingests(lake).values()) >= files * rows
            if "trusted.lab_wine_quality" in status(lake)["trusted"]
            else False
        ),
        300,
        diagnose(workers, lake),
    )
    facts = ingest_facts(lake)
    assert facts["raw"] == facts["contents"] == facts["raw_keys"] == files
    assert status(lake)["landing"]["pending"] == 0
    assert sorted(set(trusted_wine_ingests(lake).values())) == [rows]

    runs = flow_runs(prefect_server, deployments["landing/on-upload"], since)
    assert 1 <= len(runs) <= 5, [r["state_type"] for r in runs]


@pytest.mark.parametrize("workers", [3], indirect=True)
def test_three_workers_split_200_files_each_once_and_lose_no_commit(
    prefect_server: PrefectServer,
    deployments: dict[str, str],
    lake: Lake,
    workers: list[PrefectWorker],
    s3_server: S3Server,
    tmp_path: Path,
) -> None:
    files, rows = 200, 3
    since = datetime.now(UTC)
    bucket = lake.settings.bucket_landing
    s3 = s3_server.s3_client()
    paths = [
        write_wine_quality(tmp_path / f"w{i}.csv", rows=rows, seed=1000 + i) for i in range(files)
    ]

    # Six runs at once: each worker takes two (--limit 2), all on the same files. The
    # files arrive while the runs start (a run lands until landing is empty): batched
    # landing takes 200 files in well under a second, less than a run's start, so files
    # all there at once would mostly go to whichever run started first.
    deployment = deployments["landing/on-upload"]
    for _ in range(6):
        api(prefect_server, "POST", f"/deployments/{deployment}/create_flow_run", {})
    for i, path in enumerate(paths):
        s3.upload_file(str(path), bucket, f"lab/vino-{i:03d}.csv")
        time.sleep(0.05)

    def all_finished() -> bool:
        runs = flow_runs(prefect_server, deployment, since)
        return len(runs) >= 6 and all(r["state_type"] in TERMINAL for r in runs)

    wait_for("six finished runs", all_finished, 300, diagnose(workers, lake))
    runs = flow_runs(prefect_server, deployment, since)
    assert {r["state_type"] for r in runs} == {"COMPLETED"}, diagnose(workers, lake)()
    took = {w.name for w in workers if "submitting flow run" in w.log()}
    assert len(took) >= 2, diagnose(workers, lake)()

    facts = ingest_facts(lake)
    assert facts["raw"] == facts["contents"] == facts["raw_keys"] == files
    # How the files split between the runs' processes is timing (batched landing takes a
    # batch in milliseconds): what must hold whatever the split is asserted above and below.
    assert facts["claimers"] >= 1
    # Every ingest's rows are in the trusted table once: no Delta commit was lost.
    per_ingest = trusted_wine_ingests(lake)
    assert len(per_ingest) == files and set(per_ingest.values()) == {rows}
