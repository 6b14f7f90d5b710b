"""Serving on the services profile: a lean MLflow tracking server on PostgreSQL with its
artifacts in S3 (SeaweedFS). Neither server gets S3 keys: artifacts come through the
tracking server (``mlflow models serve``: proxied ``mlflow-artifacts:/``; agrolake:
``/get-artifact``), and agrolake reads the alias through the REST API."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ml.tracking_server import TrackingServerConfig
from agrolake.pipeline import run_all
from agrolake.samples import write_wine_quality
from tests.conftest import s3_env
from tests.services import MlflowServer, PostgresServer, S3Server, start_mlflow
from tests.serving.helpers import (
    SEED_BODY,
    ServerProcess,
    clean_env,
    payloads,
    relative_difference,
    start_agrolake,
    start_mlflow_serve,
    wine_rows,
)

pytestmark = pytest.mark.slow


@dataclass
class Services:
    settings: Settings
    tracking: MlflowServer
    root: Path
    run_id: str


@pytest.fixture(scope="module")
def services(
    s3_server: S3Server, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("serving-services")
    prefix = f"v{secrets.token_hex(4)}"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AGROLAKE_", "MLFLOW_")):
                mp.delenv(name)
        mp.chdir(root)
        env = s3_env(s3_server, prefix) | {
            "AGROLAKE_HOME": str(root / "home"),
            "AGROLAKE_CATALOG_URL": postgres.create_database(f"{prefix}_catalog"),
            "AGROLAKE_BUCKET_MLFLOW": f"{prefix}-mlflow",
            "AGROLAKE_TRAIN_ON_RUN": "true",
        }
        for name, value in env.items():
            mp.setenv(name, value)
        lake = Lake(Settings())
        lake.init()
        config = TrackingServerConfig(
            postgres.create_database(f"{prefix}_mlflow"),
            f"s3://{prefix}-mlflow/",
            s3_env=lake.settings.s3.to_mlflow_env(),
        )
        lake.close()
        tracking = start_mlflow(config, root / "tracking")
        try:
            mp.setenv("AGROLAKE_MLFLOW_TRACKING_URI", tracking.tracking_uri)
            lake = Lake(Settings())
            data = write_wine_quality(root / "vinos.csv", rows=400, seed=5).read_bytes()
            lake.store.put("landing", "vinos.csv", data)
            summary = run_all(lake)
            lake.close()
            assert summary.training is not None and summary.training.decision.promoted
            yield Services(Settings(), tracking, root, summary.training.run_id)
        finally:
            tracking.stop()


@pytest.fixture(scope="module")
def mlflow_starting(services: Services) -> Iterator[ServerProcess]:
    """The seed's command, started in the background (~15 s) while the other tests run."""
    env = clean_env({"MLFLOW_TRACKING_URI": services.tracking.tracking_uri})
    uri = "models:/wine-quality@champion"
    with start_mlflow_serve(uri, env, services.root / "mlflow", wait=False) as server:
        yield server


@pytest.fixture(scope="module")
def agrolake_server(services: Services, mlflow_starting: ServerProcess) -> Iterator[ServerProcess]:
    env = clean_env(
        {
            "AGROLAKE_HOME": str(services.root / "home"),
            "AGROLAKE_MLFLOW_TRACKING_URI": services.tracking.tracking_uri,
        }
    )
    with start_agrolake(env, services.root / "agrolake") as server:
        yield server


@pytest.mark.usefixtures("mlflow_starting")  # start it now, it is needed last
def test_the_rest_reader(services: Services) -> None:
    from agrolake.serving.exceptions import ModelNotFound
    from agrolake.serving.model_registry import ModelSpec, open_registry

    registry = open_registry(services.tracking.tracking_uri)

    champion = registry.resolve(ModelSpec.parse("wine-quality@champion"))
    assert (champion.version, champion.run_id, champion.ready) == ("1", services.run_id, True)
    assert registry.resolve(ModelSpec.parse("wine-quality/1")) == champion
    assert registry.read_artifact(champion, "onnx/model.onnx")
    assert registry.read_artifact(champion, "onnx/nothing.here") is None
    with pytest.raises(ModelNotFound, match="alias gold not found"):
        registry.resolve(ModelSpec.parse("wine-quality@gold"))
    with pytest.raises(ModelNotFound, match="beer"):
        registry.resolve(ModelSpec.parse("beer@champion"))


def test_the_alias_is_followed_through_the_rest_api(
    services: Services, agrolake_server: ServerProcess
) -> None:
    from agrolake.ml.tracking import MODEL_NAME, client

    tracking = client(services.settings)
    current = tracking.get_model_version_by_alias(MODEL_NAME, "champion")
    copy = tracking.create_model_version(
        MODEL_NAME,
        current.source,
        current.run_id,
        model_id=current.source.removeprefix("models:/"),  # a second version, same model
    )
    stop = threading.Event()
    seen: list[tuple[float, int, str | None]] = []

    def load() -> None:
        c = agrolake_server.client()
        while not stop.is_set():
            r = c.post(payloads(wine_rows(5))["inputs"][1])
            seen.append((time.monotonic(), r.status, r.version))

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(0.3)
        tracking.set_registered_model_alias(MODEL_NAME, "champion", copy.version)
        moved = time.monotonic()
        while time.monotonic() < moved + 12 and not any(v == copy.version for *_, v in seen):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)

    switched = [t for t, _, v in seen if v == copy.version]
    assert switched and switched[0] - moved <= 10
    assert {s for _, s, _ in seen} == {200}
    assert {v for *_, v in seen} == {"1", copy.version}


def test_the_seed_request_through_a_tracking_server_with_s3_artifacts(
    mlflow_starting: ServerProcess, agrolake_server: ServerProcess
) -> None:
    """Runs last: the champion moved to a copy of version 1 (same model, same predictions)."""
    mlflow = mlflow_starting.wait_ready()
    rows = payloads(wine_rows(1000, seed=2))["dataframe_split"][1]
    theirs = mlflow.client().post(SEED_BODY)
    theirs_batch = mlflow.client().post(rows)
    ours = agrolake_server.client().post(SEED_BODY)
    ours_batch = agrolake_server.client().post(rows)

    assert theirs.status == ours.status == 200, (theirs.body, ours.body)
    [expected] = theirs.json()["predictions"]
    assert 0 < expected < 10
    assert relative_difference([expected], ours.json()["predictions"]) <= 1e-5
    assert (
        relative_difference(theirs_batch.json()["predictions"], ours_batch.json()["predictions"])
        <= 1e-5
    )
    assert ours.version == "2"
    assert agrolake_server.client().get("/model").json()["runtime"] == "onnxruntime"
