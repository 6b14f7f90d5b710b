"""Flow: train the wine quality model from the lake, register it and gate it.

``python -m etl.train_wine_quality`` from the project root trains now; with
``only_if_new=True`` (what the retraining deployment uses) it trains only when
``refined.ml_wine_quality`` has a version not yet trained with these settings.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from agrolake.lake import open_lake
from agrolake.ml.retrain import retrain_if_needed
from agrolake.ml.training import train_wine_quality as train
from etl.hooks import NOTIFY
from etl.report import progress, report, run_main


@task(name="train-and-gate", cache_policy=NO_CACHE)
def train_and_gate(estimator: str, params: dict[str, Any], only_if_new: bool) -> dict[str, Any]:
    with open_lake() as lake, progress("training") as on_progress:
        if only_if_new:
            result = retrain_if_needed(lake, estimator, params, on_progress=on_progress)
        else:
            result = train(lake, estimator=estimator, params=params, on_progress=on_progress)
    if result is None:
        report("model: nothing new to train on")
        return {}
    report(result.line())
    return {"version": result.model_version, "promoted": result.decision.promoted}


@flow(name="train-wine-quality", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def train_wine_quality(
    estimator: str = "elasticnet",
    alpha: float | None = None,
    l1_ratio: float | None = None,
    only_if_new: bool = False,
) -> dict[str, Any]:
    """Train on the refined wine table; the registry gate decides the champion."""
    params = {k: v for k, v in (("alpha", alpha), ("l1_ratio", l1_ratio)) if v is not None}
    return train_and_gate(estimator, params, only_if_new)


if __name__ == "__main__":
    run_main(train_wine_quality)
