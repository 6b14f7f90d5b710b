"""Retrain when the wine table has a version not yet trained with these settings."""

from __future__ import annotations

from typing import Any

from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.ml.data import ML_WINE
from agrolake.ml.estimators import resolve_params
from agrolake.ml.tracking import MODEL_NAME
from agrolake.ml.training import TrainingResult, train_wine_quality


def retrain_if_needed(
    lake: Lake,
    estimator: str = "elasticnet",
    params: dict[str, Any] | None = None,
    *,
    on_progress: ProgressCallback = no_progress,
) -> TrainingResult | None:
    """Train once per (table version, estimator, parameters): a claim in the catalog
    makes two triggers (a schedule and an event, two workers) never train twice.

    Returns None when there is nothing new to train on. Cheap in that case: no
    MLflow or scikit-learn import.
    """
    version = lake.tables.version(ML_WINE)
    if version is None:
        return None
    full = resolve_params(estimator, params)
    claims = lake.catalog.training
    key = (MODEL_NAME, ML_WINE.sql_name, version, estimator, full)
    if not claims.claim(*key, lake.worker):
        return None
    try:
        result = train_wine_quality(
            lake, estimator=estimator, params=full, version=version, on_progress=on_progress
        )
    except BaseException:
        claims.release(*key)
        raise
    claims.finish(*key, run_id=result.run_id, model_version=result.model_version)
    return result
