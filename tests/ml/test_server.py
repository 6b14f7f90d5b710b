"""The lean MLflow tracking server: one process, UI, registry and proxied S3 artifacts.

The slow tests run a real server (``tests.services.start_mlflow``) on a fresh
PostgreSQL database with its artifacts in a fresh SeaweedFS bucket.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from agrolake.ml.tracking_server import (
    MLFLOW_APP,
    TrackingServerConfig,
    default_server_command,
    migrate_backend_store,
    migrate_command,
    server_command,
)
from tests.services import MlflowServer, PostgresServer, S3Server, start_mlflow

SECRET = "s3cr3t-not-in-argv"


def _config(**overrides: Any) -> TrackingServerConfig:
    values: dict[str, Any] = {
        "backend_store_uri": f"postgresql+psycopg://mlflow:{SECRET}@db.example/mlflow",
        "artifacts_destination": "s3://mlflow/artifacts",
        "s3_env": {"MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
    }
    return TrackingServerConfig(**(values | overrides))


# --------------------------------------------------------------------------- commands


def test_server_command_is_one_uvicorn_process_on_loopback() -> None:
    argv, env = server_command(
        _config(), base_env={"PATH": "/bin", "MLFLOW_WORKSPACE": "x", "UVICORN_RELOAD": "1"}
    )

    assert argv[:2] == [sys.executable, "-c"]
    assert "from agrolake.ml.tracking_app import main" in argv[2]  # uvicorn, one process
    assert argv[-1] == MLFLOW_APP
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "5000"
    assert not any(SECRET in a for a in argv)
    assert "_AGROLAKE_MLFLOW_TOKEN" not in env  # no token: no gate
    assert env["_MLFLOW_SERVER_FILE_STORE"] == env["_MLFLOW_SERVER_REGISTRY_STORE"]
    assert env["_MLFLOW_SERVER_ARTIFACT_ROOT"] == "mlflow-artifacts:/"
    assert env["_MLFLOW_SERVER_SERVE_ARTIFACTS"] == "true"
    assert env["_MLFLOW_SERVER_ARTIFACT_DESTINATION"] == "s3://mlflow/artifacts"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://127.0.0.1:9000"
    assert env["PATH"] == "/bin"
    assert "MLFLOW_WORKSPACE" not in env  # client-only: mlflow refuses to serve with it
    assert "UVICORN_RELOAD" not in env  # would start a reloader process


def test_optional_imports_are_skipped_unless_needed() -> None:
    argv, _ = server_command(_config())
    assert "('polars', 'pyarrow', 'scipy')" in argv[2]

    argv, _ = server_command(_config(artifacts_destination="hdfs://nn/mlflow"))
    assert "('polars', 'scipy')" in argv[2]  # MLflow's HDFS repository needs pyarrow

    argv, _ = server_command(_config(), skip_optional_imports=False)
    assert argv[:3] == [sys.executable, "-m", "agrolake.ml.tracking_app"]


def test_the_token_travels_in_the_environment_and_a_public_bind_needs_one() -> None:
    from agrolake.errors import ConfigError
    from agrolake.ml.tracking_server import run_server

    argv, env = server_command(_config(token="t0ken-not-in-argv"), base_env={})
    assert not any("t0ken-not-in-argv" in a for a in argv)
    assert env["_AGROLAKE_MLFLOW_TOKEN"] == "t0ken-not-in-argv"
    assert "t0ken" not in repr(_config(token="t0ken-not-in-argv"))
    # Refused before anything runs (no migration: the store's host does not exist).
    with pytest.raises(ConfigError, match="AGROLAKE_MLFLOW_TOKEN"):
        run_server(_config(host="0.0.0.0"), replace_process=False)


def test_local_artifacts_destination_is_made_absolute(tmp_path: Path) -> None:
    _, env = server_command(_config(artifacts_destination="arts"), base_env={})
    assert env["_MLFLOW_SERVER_ARTIFACT_DESTINATION"] == str(tmp_path / "arts")


def test_migration_and_baseline_keep_the_store_uri_out_of_argv() -> None:
    for argv, env in (migrate_command(_config()), default_server_command(_config())):
        assert not any(SECRET in a for a in argv)
        assert SECRET in "".join(env.values())


# --------------------------------------------------------------------------- a real server


@pytest.mark.slow
def test_migration_creates_a_fresh_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    db = tmp_path / "new" / "folder" / "mlflow.db"
    config = TrackingServerConfig(f"sqlite:///{db}", str(tmp_path / "artifacts"))

    migrate_backend_store(config)

    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"experiments", "runs", "registered_models", "model_versions"} <= tables


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> str:
    name = f"mlflow-{secrets.token_hex(5)}"
    s3_server.s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="module")
def server(
    postgres: PostgresServer,
    s3_server: S3Server,
    bucket: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MlflowServer]:
    config = TrackingServerConfig(
        # A fresh database: the migration creates MLflow's schema.
        backend_store_uri=postgres.create_database(f"mlflow_{secrets.token_hex(5)}"),
        artifacts_destination=f"s3://{bucket}/artifacts",
        s3_env={
            "MLFLOW_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
            "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
            "AWS_DEFAULT_REGION": s3_server.region,
        },
    )
    with start_mlflow(config, tmp_path_factory.mktemp("mlflow")) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: MlflowServer) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server.tracking_uri, registry_uri=server.tracking_uri)


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


@pytest.mark.slow
def test_the_whole_server_is_one_process_on_loopback(server: MlflowServer) -> None:
    proc = psutil.Process(server.pid)

    assert proc.children(recursive=True) == []
    assert MLFLOW_APP in proc.cmdline()
    # The optional packages MLflow would import only because they are installed.
    skipped = re.compile(r"/site-packages/(polars|_polars_runtime\w*|pyarrow|scipy(\.libs)?)/")
    assert not [m.path for m in proc.memory_maps() if skipped.search(m.path)]
    listening = [c.laddr for c in proc.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", server.config.port)]


@pytest.mark.slow
def test_ui_answers(server: MlflowServer) -> None:
    status, content_type, body = _get(server.tracking_uri + "/")
    assert status == 200
    assert content_type.startswith("text/html")
    assert b"<title>MLflow</title>" in body

    script = re.search(rb'src="(static-files/static/js/main\.[0-9a-f]+\.js)"', body)
    assert script is not None
    status, content_type, js = _get(f"{server.tracking_uri}/{script.group(1).decode()}")
    assert status == 200
    assert len(js) > 100_000


@pytest.mark.slow
def test_registry_versions_and_aliases(client: Any) -> None:
    experiment_id = client.create_experiment(f"registry-{secrets.token_hex(4)}")
    run = client.create_run(experiment_id)
    client.log_text(run.info.run_id, "weights", "model/weights.txt")
    client.set_terminated(run.info.run_id)

    client.create_registered_model("wine-quality")
    version = client.create_model_version(
        "wine-quality", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias("wine-quality", "champion", version.version)

    champion = client.get_model_version_by_alias("wine-quality", "champion")
    assert champion.version == version.version == "1"
    assert champion.run_id == run.info.run_id
    assert client.get_registered_model("wine-quality").aliases == {"champion": "1"}


@pytest.mark.slow
def test_artifacts_go_through_the_server_to_the_bucket(
    client: Any, s3_server: S3Server, bucket: str, tmp_path: Path
) -> None:
    experiment_id = client.create_experiment(f"artifacts-{secrets.token_hex(4)}")
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.71)
    client.log_text(run_id, "hello from agrolake", "notes/hello.txt")
    client.set_terminated(run_id)

    # Proxied: the client only ever talks to the server.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    listed = s3_server.s3_client().list_objects_v2(Bucket=bucket, Prefix="artifacts/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert f"artifacts/{experiment_id}/{run_id}/artifacts/notes/hello.txt" in keys

    local = client.download_artifacts(run_id, "notes/hello.txt", str(tmp_path))
    assert Path(local).read_text() == "hello from agrolake"
    assert client.get_run(run_id).data.metrics == {"rmse": 0.71}


@pytest.mark.slow
def test_with_a_token_the_server_wants_it_and_agrolake_clients_send_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow's clients send MLFLOW_TRACKING_TOKEN as a bearer token; agrolake's set it
    from AGROLAKE_MLFLOW_TOKEN; /health answers without it (health checks)."""
    from agrolake.lake.settings import Settings
    from agrolake.ml.tracking import experiment_id

    token = "mlfl0w-t0ken"
    config = TrackingServerConfig(
        f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts"), token=token
    )
    with start_mlflow(config, tmp_path / "server") as running:
        assert _get(running.tracking_uri + "/health")[0] == 200
        search = running.tracking_uri + "/api/2.0/mlflow/experiments/search?max_results=5"
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(search)
        assert refused.value.code == 401
        request = urllib.request.Request(search, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 200

        # Recorded as absent, so the variable agrolake sets is removed after the test.
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "")
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        settings = Settings(
            home=tmp_path / "home", mlflow_tracking_uri=running.tracking_uri, mlflow_token=token
        )
        assert experiment_id(settings, "with-a-token")  # created through the gate
