"""A loaded model version: its ONNX export under onnxruntime, or (fallback) MLflow's pyfunc.

Training logs ``onnx/model.onnx`` (input ``input``, float32 ``[None, n]``) and
``onnx/features.json`` (the column names, in the input's order) beside every model
that skl2onnx can convert. Serving those needs numpy and onnxruntime only (~55 MB)
instead of MLflow, pandas and scikit-learn (~330 MB). A version without the export
(its run has the tag ``agrolake.onnx = unavailable: …``) is served through
``mlflow.pyfunc``; that imports MLflow into the serving process, once, and says so.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from agrolake.serving.exceptions import ServingError, UnservableModel
from agrolake.serving.model_registry import Registry, VersionInfo
from agrolake.serving.refusals import bad

log = logging.getLogger("agrolake.serving")

ONNX_MODEL = "onnx/model.onnx"
ONNX_FEATURES = "onnx/features.json"


class ServedModel(Protocol):
    """What the HTTP layer needs from a model version."""

    info: VersionInfo
    features: tuple[str, ...]
    runtime: str

    def predict(self, rows: NDArray[np.float64]) -> list[Any]:
        """Predictions for a ``(n, len(features))`` matrix, as JSON-ready values.

        Raises :class:`~agrolake.serving.refusals.InvalidRequest` (``BAD_REQUEST``) for
        rows the model cannot score, as MLflow answers when the model raises.
        """
        ...


@dataclass
class OnnxModel:
    """The ONNX export: float64 input for models exported in double precision (linear
    ones, since this release), float32 for the others (trees, and older exports)."""

    info: VersionInfo
    features: tuple[str, ...]
    session: Any = field(repr=False)
    input_name: str
    input_dtype: type[np.floating[Any]] = np.float32
    runtime: str = "onnxruntime"

    @classmethod
    def from_bytes(cls, info: VersionInfo, model: bytes, features_json: bytes) -> OnnxModel:
        import onnxruntime as ort

        try:
            features = json.loads(features_json)
        except ValueError as exc:
            raise UnservableModel(f"{ONNX_FEATURES} is not JSON: {exc}") from exc
        if not (
            isinstance(features, list) and features and all(isinstance(f, str) for f in features)
        ):
            raise UnservableModel(f"{ONNX_FEATURES} must be a list of column names")
        options = ort.SessionOptions()
        # One thread: a request is a few microseconds of arithmetic, and a thread pool
        # would cost memory and spin CPU for nothing.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise UnservableModel(f"onnxruntime cannot load {ONNX_MODEL}: {exc}") from exc
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise UnservableModel(f"{ONNX_MODEL} has {len(inputs)} inputs, expected one")
        shape = inputs[0].shape
        if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != len(features)):
            raise UnservableModel(
                f"{ONNX_MODEL} takes shape {shape}, "
                f"but {ONNX_FEATURES} names {len(features)} columns"
            )
        dtype = np.float64 if inputs[0].type == "tensor(double)" else np.float32
        return cls(info, tuple(features), session, inputs[0].name, dtype)

    def predict(self, rows: NDArray[np.float64]) -> list[Any]:
        values = rows.astype(self.input_dtype)
        _refuse_missing(values, self.features)
        [output, *_] = self.session.run(None, {self.input_name: values})
        return _jsonable(np.asarray(output), len(rows))


@dataclass
class PyfuncModel:
    """The fallback: ``mlflow.pyfunc.load_model("models:/name/version")``."""

    info: VersionInfo
    features: tuple[str, ...]
    model: Any = field(repr=False)
    integer_columns: tuple[int, ...] = ()
    runtime: str = "mlflow.pyfunc"

    @classmethod
    def load(cls, info: VersionInfo, tracking_uri: str) -> PyfuncModel:
        import mlflow
        from mlflow.types import DataType

        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
        try:
            model = mlflow.pyfunc.load_model(f"models:/{info.name}/{info.version}")
        except Exception as exc:  # MlflowException, missing flavour dependencies...
            raise UnservableModel(
                f"MLflow cannot load {info.name} version {info.version}: {exc}"
            ) from exc
        schema = model.metadata.get_input_schema()
        if schema is None or not schema.has_input_names():
            raise UnservableModel(
                f"{info.name} version {info.version} has no ONNX export and no column "
                "signature to check requests against"
            )
        numeric = {DataType.double, DataType.float, DataType.long, DataType.integer}
        types = schema.input_types()
        if not all(t in numeric for t in types):
            raise UnservableModel(
                f"{info.name} version {info.version} takes non-numeric columns; "
                "agrolake serve scores numeric tables only"
            )
        integers = tuple(i for i, t in enumerate(types) if t in (DataType.long, DataType.integer))
        return cls(info, tuple(schema.input_names()), model, integers)

    def predict(self, rows: NDArray[np.float64]) -> list[Any]:
        import pandas as pd

        frame = pd.DataFrame(rows, columns=list(self.features))
        for i in self.integer_columns:
            column = rows[:, i]
            if not np.all(column == np.floor(column)):
                raise bad(f"column {self.features[i]!r} takes whole numbers")
            frame[self.features[i]] = column.astype(np.int64)
        try:
            output = self.model.predict(frame)
        except Exception as exc:  # the model refused the rows: MLflow answers 400 too
            reason = str(exc).split("\n")[0][:200]
            raise bad(f"the model could not score these rows: {reason}") from None
        if hasattr(output, "to_numpy"):
            output = output.to_numpy()
        return _jsonable(np.asarray(output), len(rows))


def _refuse_missing(values: NDArray[Any], features: tuple[str, ...]) -> None:
    """The model scores finite numbers only (scikit-learn refuses NaN and infinity, so
    MLflow answers ``BAD_REQUEST``; in float32, beyond ±3.4e38 is infinite)."""
    if values.size and not np.isfinite(values).all():
        row, column = (int(i) for i in np.argwhere(~np.isfinite(values))[0])
        kind = "a missing value" if np.isnan(values[row, column]) else "an infinite value"
        precision = " in float32" if values.dtype == np.float32 else ""
        raise bad(
            f"row {row}, column {features[column]!r}: {kind}{precision}; "
            "the model scores finite numbers only"
        )


def _jsonable(output: NDArray[Any], rows: int) -> list[Any]:
    if output.ndim == 2 and output.shape[1] == 1:
        output = output[:, 0]
    if output.dtype.kind == "f":
        output = output.astype(np.float64)
        if not np.all(np.isfinite(output)):
            raise bad("the model gave a non-finite prediction (inputs out of range?)")
    if len(output) != rows:
        raise ServingError(f"the model gave {len(output)} predictions for {rows} rows")
    result: list[Any] = output.tolist()
    return result


def load(registry: Registry, info: VersionInfo, tracking_uri: str) -> ServedModel:
    """The version's ONNX export if it has one, else its pyfunc model (imports MLflow)."""
    try:
        features = registry.read_artifact(info, ONNX_FEATURES)
        onnx = registry.read_artifact(info, ONNX_MODEL) if features is not None else None
        if features is not None and onnx is not None:
            return OnnxModel.from_bytes(info, onnx, features)
        reason = "it has no ONNX export"
    except UnservableModel as exc:
        reason = exc.message
    log.warning(
        "%s version %s: %s; serving it through mlflow.pyfunc (imports MLflow: more memory, "
        "slower requests)",
        info.name,
        info.version,
        reason,
    )
    return PyfuncModel.load(info, tracking_uri)
