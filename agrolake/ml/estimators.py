"""The estimators a training run can use, by name, with their default parameters."""

from __future__ import annotations

from typing import Any

from agrolake.errors import UsageError

DEFAULTS: dict[str, dict[str, Any]] = {
    # The seed's model: a regularised linear regression.
    "elasticnet": {"alpha": 0.5, "l1_ratio": 0.5},
    # The stronger option: a random forest (still exports to ONNX).
    "random_forest": {"n_estimators": 200, "max_depth": 12, "min_samples_leaf": 2},
}


def resolve_params(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The full parameters of an estimator: its defaults, overridden (no import needed)."""
    if name not in DEFAULTS:
        raise UsageError(f"unknown estimator {name!r}; choose one of {', '.join(DEFAULTS)}")
    unknown = set(params or {}) - set(DEFAULTS[name])
    if unknown:
        raise UsageError(
            f"{name} takes {', '.join(DEFAULTS[name])}; not {', '.join(sorted(unknown))}"
        )
    return {**DEFAULTS[name], **(params or {})}


def make_estimator(name: str, params: dict[str, Any]) -> Any:
    """A fresh, seeded scikit-learn estimator."""
    full = resolve_params(name, params)
    if name == "elasticnet":
        from sklearn.linear_model import ElasticNet

        return ElasticNet(random_state=42, **full)
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(random_state=42, n_jobs=1, **full)
