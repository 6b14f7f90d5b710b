"""End to end on a stack started by `agrolake stack up`: each service holds only the S3
key it needs, an upload with boto3 and the uploader's key flows to trusted (the reader's
key queries it) and to a served champion with no other command, a second wine file
registers a new model version, a service killed with SIGKILL comes back, the demo ends with a
champion, and `down` leaves no process and no open port."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from agrolake.answers.reports import status as lake_status
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.samples import write_activities, write_wine_quality
from agrolake.stack.layout import GRPC_OFFSET, StackLayout, load_state, port_is_open
from agrolake.stack.lifecycle import marked_processes

pytestmark = pytest.mark.slow

AGROLAKE = str(Path(sys.executable).parent / "agrolake")
ROW = [[7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4]]


def client_environ(home: Path) -> dict[str, str]:
    """This process's environment without any lake, Prefect or MLflow setting, plus home."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGROLAKE_", "MLFLOW_", "PREFECT_API", "AWS_"))
    }
    return {**kept, "AGROLAKE_HOME": str(home)}


def stack(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [AGROLAKE, "stack", *args],
        env=client_environ(home),
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=420,
    )
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done


def services(home: Path) -> dict[str, dict[str, Any]]:
    found = json.loads(stack(home, "status", "--json").stdout)
    assert found["home"] == str(home)
    return {s["name"]: s for s in found["services"]}


def wait_for(what: str, check: Callable[[], Any], timeout: float, home: Path) -> Any:
    """Poll ``check`` until it returns something true; fail with the stack's logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(1)
    logs = "\n".join(
        f"--- {name}\n{stack(home, 'logs', name, '-n', '40', check=False).stdout}"
        for name in ("worker", "bridge", "receiver", "serve")
    )
    pytest.fail(f"{what} not reached within {timeout:.0f} s\n{logs}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A stack under a fresh home, up for the module; down at the end in any case."""
    home = tmp_path_factory.mktemp("stack") / "home"
    home.mkdir()
    try:
        stack(home, "up", "--timeout", "300")
        yield home
    finally:
        stack(home, "down", check=False)


def role_env(home: Path, role: str) -> dict[str, str]:
    """What `eval "$(agrolake stack env --role ROLE)"` sets in a client shell."""
    lines = stack(home, "env", "--role", role).stdout.splitlines()
    pairs = [shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines]
    return dict(pairs)


@pytest.fixture(scope="module")
def env(home: Path) -> dict[str, str]:
    """What `eval "$(agrolake stack env)"` sets in a client shell (the worker's key)."""
    lines = stack(home, "env").stdout.splitlines()
    pairs = [shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in lines]
    found = dict(pairs)
    assert found == role_env(home, "worker")
    return found


@pytest.fixture(scope="module")
def lake(env: dict[str, str]) -> Iterator[Lake]:
    fields = {k.removeprefix("AGROLAKE_").lower(): v for k, v in env.items() if "AGROLAKE_" in k}
    lake = Lake(Settings(**fields))
    yield lake
    lake.close()


def s3_client(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AGROLAKE_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AGROLAKE_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AGROLAKE_S3_SECRET_ACCESS_KEY"],
        region_name=env["AGROLAKE_S3_REGION"],
    )


def get_json(url: str, data: Any = None, token: str | None = None) -> Any:
    """``url``'s JSON answer; the stack's MLflow and model server want their token."""
    body = None if data is None else json.dumps(data).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def model_versions(env: dict[str, str]) -> list[int]:
    query = "filter=name%3D%27wine-quality%27"
    found = get_json(
        f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/model-versions/search?{query}",
        token=env["MLFLOW_TRACKING_TOKEN"],
    )
    return sorted(int(v["version"]) for v in found.get("model_versions", []))


def in_trusted(lake: Lake, table: str, rows: int) -> bool:
    found = lake_status(lake)["trusted"].get(table)
    return bool(found and found["rows"] >= rows)


def test_up_starts_every_service_healthy_and_up_again_changes_nothing(home: Path) -> None:
    first = services(home)
    assert set(first) == {
        "postgres", "s3", "prefect", "mlflow", "worker-1", "receiver", "bridge", "serve",
    }  # fmt: skip
    assert all(s["healthy"] for s in first.values()), first
    assert all(psutil.pid_exists(s["pid"]) for s in first.values())
    layout = StackLayout.under(home)
    for secret_file in (layout.state_file, layout.config_file):
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    again = stack(home, "up")
    assert "started" not in again.stderr and "deployed" not in again.stderr, again.stderr
    second = services(home)
    assert {n: s["pid"] for n, s in second.items()} == {n: s["pid"] for n, s in first.items()}
    assert all(s["healthy"] for s in second.values())


def test_each_service_holds_only_the_s3_key_its_work_needs(home: Path) -> None:
    """SeaweedFS enforces a key per role (its identities file is private); the workers and
    MLflow hold the worker's, the receiver, the bridge and the model server none, and no
    service the administrator's."""
    layout = StackLayout.under(home)
    state = load_state(layout)
    assert state is not None
    identities = layout.root / "data" / "s3" / "s3-config.json"
    assert stat.S_IMODE(identities.stat().st_mode) == 0o600
    written = {i["name"]: i for i in json.loads(identities.read_text())["identities"]}
    assert set(written) == {"admin", "uploader", "worker", "reader"}
    found = services(home)
    admin, worker = state.s3_key("admin"), state.s3_key("worker")
    for name in found:
        environ = psutil.Process(found[name]["pid"]).environ()
        held = environ.get("AGROLAKE_S3_ACCESS_KEY_ID") or environ.get("AWS_ACCESS_KEY_ID")
        wanted = worker.access_key_id if name in ("worker-1", "mlflow") else None
        assert held == wanted, name
        assert admin.secret_access_key not in environ.values(), name


def test_a_boto3_upload_reaches_trusted_and_a_served_champion_then_a_new_version(
    home: Path, env: dict[str, str], lake: Lake, tmp_path: Path
) -> None:
    """Uploads with the uploader's key (`stack env --role uploader`), which may put into
    landing and nothing else; the reader's key queries what arrived."""
    uploader = role_env(home, "uploader")
    assert uploader["AGROLAKE_S3_ACCESS_KEY_ID"] != env["AGROLAKE_S3_ACCESS_KEY_ID"]
    s3 = s3_client(uploader)
    wine = write_wine_quality(tmp_path / "vino.csv", rows=120, seed=1)
    s3.upload_file(str(wine), env["AGROLAKE_BUCKET_LANDING"], "lab/vino tinto.csv")
    wait_for("the upload in trusted", lambda: in_trusted(lake, "trusted.lab_wine_quality", 120),
             120, home)  # fmt: skip
    for refused in (
        lambda: s3.list_objects_v2(Bucket=env["AGROLAKE_BUCKET_RAW"]),
        lambda: s3.get_object(Bucket=env["AGROLAKE_BUCKET_TRUSTED"], Key="_delta_log/x.json"),
        lambda: s3.delete_object(Bucket=env["AGROLAKE_BUCKET_LANDING"], Key="lab/x.csv"),
    ):
        with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
            refused()

    reader = role_env(home, "reader")
    sql = "SELECT count(*) AS n FROM trusted.lab_wine_quality"
    done = subprocess.run(
        [AGROLAKE, "query", sql, "--format", "json"], env={**client_environ(home), **reader},
        cwd=home.parent, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == [{"n": 120}]
    with pytest.raises(s3.exceptions.ClientError, match="AccessDenied"):
        s3_client(reader).list_objects_v2(Bucket=env["AGROLAKE_BUCKET_RAW"])

    serve = services(home)["serve"]["url"]
    token = env["AGROLAKE_SERVE_TOKEN"]
    health = wait_for(
        "a champion served",
        lambda: _served(serve, token),
        300,
        home,
    )
    assert health["following"] == "wine-quality@champion"
    request = {"dataframe_split": {"columns": _features(), "data": ROW}}
    prediction = get_json(serve + "/invocations", request, token=token)
    assert len(prediction["predictions"]) == 1
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(serve + "/invocations", request)  # the stack's model server wants its token
    assert refused.value.code == 401
    assert model_versions(env) == [1]

    more = write_wine_quality(tmp_path / "vino2.csv", rows=150, seed=2)
    s3.upload_file(str(more), env["AGROLAKE_BUCKET_LANDING"], "lab/vino 2.csv")
    wait_for("a second model version", lambda: model_versions(env) == [1, 2], 300, home)


def test_a_service_killed_with_sigkill_comes_back_and_the_pipeline_completes(
    home: Path, env: dict[str, str], lake: Lake, tmp_path: Path
) -> None:
    before = services(home)
    for name in ("worker-1", "bridge"):
        os.kill(before[name]["pid"], signal.SIGKILL)  # processes this test's stack started

    def restarted() -> bool:
        now = services(home)
        return all(
            now[n]["healthy"] and now[n]["pid"] not in (None, before[n]["pid"])
            for n in ("worker-1", "bridge")
        )

    wait_for("supervisord restarting the killed services", restarted, 60, home)
    activities = write_activities(tmp_path / "actividades.csv", rows=30, seed=3)
    s3_client(env).upload_file(str(activities), env["AGROLAKE_BUCKET_LANDING"], "erp/act.csv")
    wait_for("the upload in trusted after the restart",
             lambda: in_trusted(lake, "trusted.erp_activities", 1), 120, home)  # fmt: skip


def test_the_demo_on_the_stack_leads_to_a_model_of_its_wine_table(
    home: Path, env: dict[str, str]
) -> None:
    """`agrolake demo` with the stack's settings: its new wine table version is trained
    once (by the demo itself, or by the deployment its upload or its events triggered
    when a worker's flow run took the files first)."""
    before = model_versions(env)
    done = subprocess.run(
        [AGROLAKE, "demo"], env={**client_environ(home), **env}, cwd=home.parent,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "digital twin: season weather and NDVI" in done.stdout
    wait_for("a model of the demo's wine table",
             lambda: len(model_versions(env)) == len(before) + 1, 300, home)  # fmt: skip
    query = f"{env['MLFLOW_TRACKING_URI']}/api/2.0/mlflow/registered-models/alias"
    champion = get_json(
        f"{query}?name=wine-quality&alias=champion", token=env["MLFLOW_TRACKING_TOKEN"]
    )["model_version"]
    assert int(champion["version"]) in model_versions(env)


def test_down_leaves_no_process_and_no_open_port(home: Path) -> None:
    layout = StackLayout.under(home)
    state = load_state(layout)
    assert state is not None
    pids = [s["pid"] for s in services(home).values()]
    pids += [p.pid for p in marked_processes(layout.root)]
    pids.append(int(layout.pid_file.read_text()))
    stack(home, "down")
    assert marked_processes(layout.root) == []
    assert [p for p in pids if _alive(p)] == []
    ports = list(state.ports.items())
    ports += [(f"{n} gRPC", p + GRPC_OFFSET) for n, p in state.ports.items() if n.startswith("s3")]
    assert [name for name, port in ports if port_is_open("127.0.0.1", port)] == []
    assert not any(s["healthy"] or s["pid"] for s in services(home).values())


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _served(url: str, token: str) -> dict[str, Any] | None:
    try:
        found = get_json(url + "/model", token=token)
    except (urllib.error.URLError, OSError):
        return None
    return found if found.get("status") == "ok" else None


def _features() -> list[str]:
    from agrolake.ml.data import FEATURES

    return list(FEATURES)
