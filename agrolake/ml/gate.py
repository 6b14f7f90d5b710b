"""The registry gate: a new version is the challenger; it becomes champion only if
it beats the champion on the same held-out rows, by a margin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agrolake.ml.data import FEATURES, TARGET, TrainingData
from agrolake.ml.tracking import MODEL_NAME

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

METRIC = "rmse"
# A challenger must be at least 1 % better (lower RMSE): noise-level gains do not
# move the model that serving follows.
MARGIN = 0.01


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    reason: str
    challenger_version: str
    challenger_rmse: float
    champion_version: str | None = None
    champion_rmse: float | None = None

    @property
    def gain(self) -> float | None:
        """How much lower the challenger's RMSE is than the champion's (0.24 = 24 %)."""
        if self.champion_rmse is None:
            return None
        return relative_gain(self.challenger_rmse, self.champion_rmse)

    def line(self) -> str:
        verdict = "champion" if self.promoted else "challenger only"
        return f"{MODEL_NAME} v{self.challenger_version} → {verdict} ({self.reason})"


def relative_gain(challenger_rmse: float, champion_rmse: float) -> float:
    """The share by which the challenger's RMSE is lower (negative: higher)."""
    return (champion_rmse - challenger_rmse) / champion_rmse if champion_rmse else 0.0


def rmse(predicted: object, actual: object) -> float:
    import numpy as np

    diff = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
    return float(np.sqrt(np.mean(diff**2)))


def decide(
    client: MlflowClient, version: str, challenger_rmse: float, data: TrainingData
) -> GateDecision:
    """Set the aliases and record the decision and both scores on the new version."""
    import mlflow

    client.set_registered_model_alias(MODEL_NAME, "challenger", version)
    champion = _champion(client)
    if champion is None or champion == version:
        decision = GateDecision(True, "no champion yet", version, challenger_rmse)
    else:
        model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{champion}", suppress_warnings=True)
        champion_rmse = rmse(model.predict(data.test[list(FEATURES)]), data.test[TARGET])
        better = challenger_rmse <= champion_rmse * (1 - MARGIN)
        reason = _reason(challenger_rmse, champion, champion_rmse, better, len(data.test))
        decision = GateDecision(better, reason, version, challenger_rmse, champion, champion_rmse)
    if decision.promoted:
        client.set_registered_model_alias(MODEL_NAME, "champion", version)
    tags = {
        "gate.decision": "promoted" if decision.promoted else "rejected",
        "gate.reason": decision.reason,
        "gate.metric": METRIC,
        "gate.margin": str(MARGIN),
        "gate.challenger_rmse": f"{challenger_rmse:.6f}",
        "gate.test_rows": str(len(data.test)),
    }
    if decision.champion_version is not None:
        tags["gate.champion_version"] = decision.champion_version
        tags["gate.champion_rmse"] = f"{decision.champion_rmse:.6f}"
    if decision.gain is not None:
        tags["gate.gain"] = f"{decision.gain:.6f}"
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    return decision


def _reason(challenger: float, champion: str, champion_rmse: float, better: bool, rows: int) -> str:
    """The decision in one line: both scores, the gain, and the margin it had to reach."""
    gain = relative_gain(challenger, champion_rmse)
    change = f"{gain:.1%} lower" if gain >= 0 else f"{-gain:.1%} higher"
    verdict = "at least" if better else "less than"
    return (
        f"RMSE {challenger:.4f} vs champion v{champion}'s {champion_rmse:.4f} on the same "
        f"{rows} held-out rows: {change}, {verdict} the {MARGIN:.0%} margin"
    )


def _champion(client: MlflowClient) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(MODEL_NAME, "champion").version)
    except MlflowException:
        return None
