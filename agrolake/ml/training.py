"""Train the wine quality model from the lake, log it to MLflow, register it, gate it."""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.ml.data import FEATURES, TARGET, TrainingData, load_training_data
from agrolake.ml.estimators import make_estimator, resolve_params
from agrolake.ml.gate import GateDecision, decide, rmse
from agrolake.ml.tracking import MODEL_NAME, client, experiment_id

TAG_LIMIT = 4000  # MLflow keeps tag values short; the full list is an artifact
TRUSTED_TYPES = {"random_forest": ["sklearn.tree._tree.Tree"]}
SERVING_PACKAGES = ("mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops")
TRAINING_STEPS = 5


@dataclass(frozen=True)
class TrainingResult:
    run_id: str
    model_version: str
    estimator: str
    metrics: dict[str, float]
    table: str
    table_version: int
    decision: GateDecision

    def line(self) -> str:
        return (
            f"model: {self.estimator} on {self.table} v{self.table_version}, "
            f"rmse {self.metrics['rmse']:.4f}; {self.decision.line()}"
        )


def train_wine_quality(
    lake: Lake,
    *,
    estimator: str = "elasticnet",
    params: dict[str, Any] | None = None,
    version: int | None = None,
    on_progress: ProgressCallback = no_progress,
) -> TrainingResult:
    """Train on ``refined.ml_wine_quality`` at ``version`` (default latest) and gate it.

    ``on_progress(step, done, 5)`` is called before each of the five steps (reading,
    fitting, logging to MLflow, registering, gating) and once at the end.
    """
    import mlflow
    from mlflow.models import infer_signature

    full = resolve_params(estimator, params)
    on_progress("reading the training data", 0, TRAINING_STEPS)
    data = load_training_data(lake, version)
    x_train, y_train = data.train[list(FEATURES)], data.train[TARGET]
    on_progress(f"fitting {estimator} on {len(x_train)} rows", 1, TRAINING_STEPS)
    model = make_estimator(estimator, full)
    model.fit(x_train, y_train)
    metrics = _metrics(model.predict(data.test[list(FEATURES)]), data.test[TARGET])
    on_progress("logging the run to MLflow", 2, TRAINING_STEPS)

    mlflow_client = client(lake.settings)
    with mlflow.start_run(
        experiment_id=experiment_id(lake.settings),
        run_name=f"{estimator}-{data.table.id}-v{data.version}",
    ) as run:
        mlflow.log_params({"estimator": estimator, **full, "test_share": 0.25})
        mlflow.log_metrics(metrics)
        with warnings.catch_warnings():
            # The target is an integer score; MLflow hints that integers cannot be
            # missing, which the trusted schema already guarantees.
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            mlflow.log_input(_dataset(data), context="training")
        mlflow.set_tags(_lineage_tags(lake, data))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x_train, model.predict(x_train)),
            input_example=x_train.head(3),
            # We wrote these trees ourselves; skops refuses them unless named.
            skops_trusted_types=TRUSTED_TYPES.get(estimator),
            # Given, not inferred: inference re-imports the model in a subprocess,
            # 13 of the 22 s a training run took, and listed test tools besides.
            pip_requirements=_requirements(),
        )
        _log_onnx(model, len(FEATURES))
        _log_lineage(lake, data)
    on_progress("registering the model version", 3, TRAINING_STEPS)
    version_id = _register(mlflow_client, info, run.info.run_id)
    on_progress("gating against the champion", 4, TRAINING_STEPS)
    decision = decide(mlflow_client, version_id, metrics["rmse"], data)
    on_progress("", TRAINING_STEPS, TRAINING_STEPS)
    return TrainingResult(
        run.info.run_id,
        version_id,
        estimator,
        metrics,
        data.table.sql_name,
        data.version,
        decision,
    )


def _register(mlflow_client: Any, info: Any, run_id: str) -> str:
    """A new version of the registered model (created on first use), quietly."""
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.create_registered_model(MODEL_NAME)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = mlflow_client.create_model_version(
        MODEL_NAME,
        source=info.model_uri,
        run_id=run_id,
        model_id=info.model_id,
        tags={"agrolake.run_id": run_id},
    )
    return str(version.version)


def _requirements() -> list[str]:
    """What loading the logged model needs, at the versions installed here."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in SERVING_PACKAGES]


def _metrics(predicted: Any, actual: Any) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, r2_score

    return {
        "rmse": rmse(predicted, actual),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
    }


def _dataset(data: TrainingData) -> Any:
    from mlflow.data.pandas_dataset import from_pandas

    from agrolake.ml.dataset_source import LakeDeltaSource

    # Loadable again with mlflow.data.get_source(...).load(), without Spark.
    source = LakeDeltaSource(data.uri, data.version, data.table.sql_name)
    frame = data.frame[[*FEATURES, TARGET]]
    return from_pandas(frame, source=source, targets=TARGET, name=data.table.sql_name)


def _lineage_tags(lake: Lake, data: TrainingData) -> dict[str, str]:
    rows = lake.catalog.get_many(data.ingest_ids)
    names = sorted({r.original_name for r in rows})
    return {
        "agrolake.table": data.table.sql_name,
        "agrolake.table_version": str(data.version),
        "agrolake.ingest_ids": ",".join(data.ingest_ids)[:TAG_LIMIT],
        "agrolake.files": ",".join(names)[:TAG_LIMIT],
    }


def _log_lineage(lake: Lake, data: TrainingData) -> None:
    import mlflow

    rows = lake.catalog.get_many(data.ingest_ids)
    lineage = {
        "table": data.table.sql_name,
        "version": data.version,
        "ingests": [
            {
                "ingest_id": r.ingest_id,
                "original_name": r.original_name,
                "raw_key": r.raw_key,
                "sha256": r.sha256,
            }
            for r in rows
        ],
    }
    mlflow.log_dict(lineage, "lineage.json")


def _log_onnx(model: Any, features: int) -> None:
    """Log an ONNX export beside the model (serving stays small); skip if it won't convert."""
    import mlflow

    try:
        onnx_model = _to_onnx(model, features)
    except Exception as exc:  # skl2onnx raises many types for unsupported estimators
        mlflow.set_tag("agrolake.onnx", f"unavailable: {type(exc).__name__}")
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        path.write_bytes(onnx_model.SerializeToString())
        mlflow.log_artifact(str(path), artifact_path="onnx")
        (Path(folder) / "features.json").write_text(json.dumps(list(FEATURES)))
        mlflow.log_artifact(str(Path(folder) / "features.json"), artifact_path="onnx")
    mlflow.set_tag("agrolake.onnx", "onnx/model.onnx")


def _to_onnx(model: Any, features: int) -> Any:
    """The export in double precision where onnxruntime runs it (linear models: the same
    predictions as scikit-learn to 1e-15, and values beyond float32 stay finite, as in
    MLflow), else in float32 (tree ensembles: scikit-learn's trees compute in float32)."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    single = to_onnx(model, initial_types=[("input", FloatTensorType([None, features]))])
    if any(node.op_type.startswith("TreeEnsemble") for node in single.graph.node):
        return single  # onnxruntime has no double kernel for trees (and converting is slow)
    try:
        double = to_onnx(model, initial_types=[("input", DoubleTensorType([None, features]))])
        ort.InferenceSession(double.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception:  # another operator without a double kernel
        return single
    return double
