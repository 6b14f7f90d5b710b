"""The embedded lake with a trained model, and ``mlflow models serve`` on it, shared by the
serving tests of the package (one MLflow scoring server per session: it takes ~15 s and
620 MB). Package-scoped: both stop after the last test of ``tests/serving``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.pipeline import run_all
from agrolake.samples import write_wine_quality
from tests.serving.helpers import ServerProcess, clean_env, start_mlflow_serve


@pytest.fixture(scope="package")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A lake whose first run trained and promoted wine-quality v1 (embedded tracking)."""
    folder = tmp_path_factory.mktemp("serving-embedded")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AGROLAKE_", "MLFLOW_")):
                mp.delenv(name)
        mp.chdir(folder)
        lake = Lake(Settings(home=folder / "home", train_on_run=True))
        lake.init()
        data = write_wine_quality(folder / "vinos.csv", rows=400, seed=1).read_bytes()
        lake.store.put("landing", "vinos.csv", data)
        summary = run_all(lake)
        assert summary.training is not None and summary.training.decision.promoted
        assert summary.training.model_version == "1"
        lake.close()
        yield folder


@pytest.fixture(scope="package")
def settings(root: Path) -> Settings:
    return Settings(home=root / "home")


@pytest.fixture(scope="package")
def mlflow_starting(root: Path, settings: Settings) -> Iterator[ServerProcess]:
    """The seed's server, started in the background (~15 s) while other tests run."""
    env = clean_env({"MLFLOW_TRACKING_URI": settings.tracking_uri})
    uri = "models:/wine-quality@champion"
    with start_mlflow_serve(uri, env, root / "mlflow", wait=False) as server:
        yield server


@pytest.fixture
def mlflow_server(mlflow_starting: ServerProcess) -> ServerProcess:
    return mlflow_starting.wait_ready()
