"""The model lifecycle on the embedded profile: land → refine → train → gate → lineage."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agrolake.answers.provenance import of_model
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.ml.retrain import retrain_if_needed
from agrolake.ml.tracking import MODEL_NAME, client
from agrolake.ml.training import train_wine_quality
from agrolake.pipeline import run_all
from agrolake.samples import write_wine_quality

pytestmark = pytest.mark.slow


@pytest.fixture
def ml_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("AGROLAKE_TRAIN_ON_RUN", "true")
    lake = Lake(Settings(home=tmp_path / "home"))
    lake.init()
    return lake


def land_wine(lake: Lake, tmp_path: Path, name: str, seed: int, rows: int = 400) -> None:
    data = write_wine_quality(tmp_path / name, rows=rows, seed=seed).read_bytes()
    lake.store.put("landing", name, data)


def test_a_landed_wine_file_ends_as_a_gated_champion_with_lineage(
    ml_lake: Lake, tmp_path: Path
) -> None:
    land_wine(ml_lake, tmp_path, "vinos_2024.csv", seed=1)

    summary = run_all(ml_lake)

    assert summary.training is not None and summary.training.decision.promoted
    mlflow_client = client(ml_lake.settings)
    champion = mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(champion.version) == summary.training.model_version
    assert champion.tags["gate.decision"] == "promoted"
    run = mlflow_client.get_run(champion.run_id)
    assert set(run.data.metrics) >= {"rmse", "mae", "r2"}
    assert run.data.tags["agrolake.table"] == "refined.ml_wine_quality"
    assert run.data.tags["agrolake.files"] == "vinos_2024.csv"
    [dataset] = run.inputs.dataset_inputs
    assert str(ml_lake.tables.uri(ml_lake_ref())) in dataset.dataset.source
    assert dataset.dataset.source_type == "agrolake_delta"
    artifacts = {a.path for a in mlflow_client.list_artifacts(run.info.run_id, "onnx")}
    assert "onnx/model.onnx" in artifacts

    lineage = of_model(ml_lake, "wine-quality@champion")
    assert [i["original_name"] for i in lineage["ingests"]] == ["vinos_2024.csv"]
    assert lineage["table"] == {"name": "refined.ml_wine_quality", "version": 1}
    assert set(lineage) == {"model", "version", "aliases", "run_id", "metrics", "table", "ingests"}

    # Nothing new: no retraining.
    assert run_all(ml_lake).training is None


def test_the_training_data_loads_back_through_mlflow_without_spark(
    ml_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow finds agrolake's dataset source through its entry point (delta-rs, no
    Spark); MLflow's Default experiment keeps its artifacts in the lake."""
    import importlib.util

    import mlflow

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # MLflow put the Default experiment's artifacts here
    land_wine(ml_lake, tmp_path, "vinos.csv", seed=4, rows=120)
    trained = run_all(ml_lake).training
    assert trained is not None
    mlflow_client = client(ml_lake.settings)
    [dataset] = mlflow_client.get_run(trained.run_id).inputs.dataset_inputs

    frame = mlflow.data.get_source(dataset.dataset).load()

    assert importlib.util.find_spec("pyspark") is None
    table = ml_lake.tables.read(ml_lake_ref(), trained.table_version)
    assert table is not None and len(frame) == table.num_rows == 120
    assert sorted(frame.columns) == sorted(table.column_names)
    default = mlflow_client.get_experiment("0")
    assert default.artifact_location == f"{ml_lake.settings.artifacts_folder.as_uri()}/0"
    assert not (elsewhere / "mlruns").exists()


def ml_lake_ref():  # type: ignore[no-untyped-def]
    from agrolake.ml.data import ML_WINE

    return ML_WINE


def test_new_data_retrains_and_the_gate_decides_both_ways(ml_lake: Lake, tmp_path: Path) -> None:
    land_wine(ml_lake, tmp_path, "a.csv", seed=1)
    first = run_all(ml_lake).training
    assert first is not None

    land_wine(ml_lake, tmp_path, "b.csv", seed=2)
    second = run_all(ml_lake).training
    assert second is not None and second.table_version == first.table_version + 1
    mlflow_client = client(ml_lake.settings)
    challenger = mlflow_client.get_model_version_by_alias(MODEL_NAME, "challenger")
    assert str(challenger.version) == second.model_version
    assert challenger.tags["gate.decision"] in ("promoted", "rejected")
    assert challenger.tags["gate.champion_version"] == first.model_version

    worse = train_wine_quality(ml_lake, params={"alpha": 50.0})  # predicts the mean
    assert not worse.decision.promoted
    assert worse.decision.champion_rmse is not None
    assert worse.decision.challenger_rmse > worse.decision.champion_rmse
    champion_before = mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version
    assert str(champion_before) != worse.model_version
    assert (
        mlflow_client.get_model_version(MODEL_NAME, worse.model_version).tags["gate.decision"]
        == "rejected"
    )

    reason = worse.decision.reason
    assert f"vs champion v{worse.decision.champion_version}'s" in reason
    assert "% higher, less than the 1% margin" in reason  # the gain and the margin apart

    better = train_wine_quality(ml_lake, estimator="random_forest", params={"n_estimators": 60})
    assert better.decision.promoted, better.decision.reason
    gain = better.decision.gain
    assert gain is not None and gain >= 0.01
    assert better.decision.reason.endswith(f": {gain:.1%} lower, at least the 1% margin")
    tags = mlflow_client.get_model_version(MODEL_NAME, better.model_version).tags
    assert float(tags["gate.gain"]) == pytest.approx(gain, abs=1e-6)
    assert str(mlflow_client.get_model_version_by_alias(MODEL_NAME, "champion").version) == (
        better.model_version
    )


def test_two_triggers_at_once_train_once(ml_lake: Lake, tmp_path: Path) -> None:
    land_wine(ml_lake, tmp_path, "a.csv", seed=3, rows=200)
    ml_lake.settings.__dict__  # noqa: B018 - same settings for both triggers
    from agrolake.zones.landing import process_landing
    from agrolake.zones.refined import process_refined
    from agrolake.zones.trusted import process_trusted

    process_landing(ml_lake)
    process_trusted(ml_lake)
    process_refined(ml_lake)
    start = threading.Barrier(2)
    results = []

    def trigger() -> None:
        lake = Lake(ml_lake.settings)
        start.wait()
        results.append(retrain_if_needed(lake))

    threads = [threading.Thread(target=trigger) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    trained = [r for r in results if r is not None]
    assert len(trained) == 1
    versions = client(ml_lake.settings).search_model_versions(f"name='{MODEL_NAME}'")
    assert len(versions) == 1
    [claim] = ml_lake.catalog.training.runs(MODEL_NAME)
    assert claim.status == "done" and claim.run_id == trained[0].run_id
