"""The services profile: a real (lean) MLflow server on PostgreSQL with S3 artifacts."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrolake.answers.provenance import of_model
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ml.tracking_server import TrackingServerConfig
from agrolake.pipeline import run_all
from agrolake.samples import write_wine_quality
from tests.conftest import s3_env
from tests.services import MlflowServer, PostgresServer, S3Server, start_mlflow

pytestmark = pytest.mark.slow
SEED_CURL = {  # the seed README's request body, as sent to /invocations
    "columns": [
        "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
        "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
    ],
    "data": [[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]],
}  # fmt: skip


@pytest.fixture
def services(
    s3_server: S3Server, postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Lake, MlflowServer, str]]:
    prefix = f"m{secrets.token_hex(4)}"
    env = s3_env(s3_server, prefix)
    env |= {
        "AGROLAKE_HOME": str(tmp_path / "home"),
        "AGROLAKE_CATALOG_URL": postgres.create_database(f"{prefix}_catalog"),
        "AGROLAKE_BUCKET_MLFLOW": f"{prefix}-mlflow",
        "AGROLAKE_TRAIN_ON_RUN": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lake = Lake(Settings())
    lake.init()  # creates the mlflow bucket too
    config = TrackingServerConfig(
        postgres.create_database(f"{prefix}_mlflow"),
        f"s3://{prefix}-mlflow/",
        s3_env=lake.settings.s3.to_mlflow_env(),
    )
    server = start_mlflow(config, tmp_path / "mlflow")
    monkeypatch.setenv("AGROLAKE_MLFLOW_TRACKING_URI", server.tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.tracking_uri)
    yield Lake(Settings()), server, f"{prefix}-mlflow"
    server.stop()


def test_model_artifacts_land_in_s3_and_load_from_the_registry(
    services: tuple[Lake, MlflowServer, str], s3_server: S3Server, tmp_path: Path
) -> None:
    import mlflow
    import pandas as pd

    lake, _, bucket = services
    data = write_wine_quality(tmp_path / "w.csv", rows=400, seed=5).read_bytes()
    lake.store.put("landing", "vinos.csv", data)

    summary = run_all(lake)

    assert summary.training is not None and summary.training.decision.promoted
    keys = [
        o["Key"] for o in s3_server.s3_client().list_objects_v2(Bucket=bucket).get("Contents", [])
    ]
    assert any(k.endswith("MLmodel") for k in keys), keys
    assert any(k.endswith("onnx/model.onnx") for k in keys), keys

    model = mlflow.pyfunc.load_model("models:/wine-quality@champion")
    frame = pd.DataFrame(SEED_CURL["data"], columns=SEED_CURL["columns"], dtype=float)
    [prediction] = model.predict(frame)
    assert 0 < float(prediction) < 10

    lineage = of_model(lake, "wine-quality@champion")
    assert [i["original_name"] for i in lineage["ingests"]] == ["vinos.csv"]
