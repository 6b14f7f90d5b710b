"""One browsed lake per test module and backend: the demo files, files with bad values
(quarantined rows of every kind), a file whose name and a cell whose value hold HTML,
and a trained model, so every page has something to show."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from tests.conftest import BACKENDS, s3_env

HTML_NAME = "<img src=x onerror=alert(1)>.csv"
HTML_TASK = '<script>alert("agrolake")</script>'


def html_files(folder: Path) -> list[Path]:
    """An empty file whose name is HTML (rejected), and field activities holding a task
    that is HTML (a trusted row)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / HTML_NAME).write_bytes(b"")
    activities = folder / "actividades_html.csv"
    activities.write_text(
        "FECHA,TAREA-PRODUCTO-DOSIS,PARCELA,RECINTO ID\n"
        f"12/03/2024,{HTML_TASK},CAMINO DE LA ERMITA 35,22-7-0-0-23-35-3\n"
    )
    return [folder / HTML_NAME, activities]


def build_lake(settings: Settings, folder: Path) -> Lake:
    """The demo lake and more, every file run through every zone, then a model trained."""
    from agrolake.ml.training import train_wine_quality
    from agrolake.pipeline import run_all
    from agrolake.samples import write_demo_set
    from agrolake.zones.uploads import upload
    from tests.pinned_lake import bad_value_files

    lake = Lake(settings)
    lake.init()
    files = [
        *write_demo_set(folder / "demo"),
        *bad_value_files(folder / "bad"),
        *html_files(folder / "html"),
    ]
    upload(lake, files)
    run_all(lake)
    train_wine_quality(lake)
    return lake


@dataclass
class Browsed:
    """A built lake and the AGROLAKE_* environment that names it (for the CLI)."""

    lake: Lake
    env: dict[str, str]


@contextmanager
def browsed(
    request: pytest.FixtureRequest, backend: tuple[str, str], folder: Path
) -> Iterator[Browsed]:
    """Build the lake on ``backend`` (storage, catalog) under ``folder``."""
    storage, catalog = backend
    env = {"AGROLAKE_HOME": str(folder / "home"), "AGROLAKE_TRAIN_ON_RUN": "false"}
    if storage == "s3":
        env |= s3_env(request.getfixturevalue("s3_server"), f"u{secrets.token_hex(5)}")
    if catalog == "postgresql":
        server = request.getfixturevalue("postgres")
        env["AGROLAKE_CATALOG_URL"] = server.create_database(f"u{secrets.token_hex(6)}")
    with pytest.MonkeyPatch.context() as patch:
        # Built before the per-test clean environment: clean it here, and keep MLflow's
        # default experiment (./mlruns) in the lake's folder.
        patch.chdir(folder)
        for name in [n for n in os.environ if n.startswith(("AGROLAKE_", "MLFLOW_"))]:
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        lake = build_lake(Settings(), folder)
    try:
        yield Browsed(lake, env)
    finally:
        lake.close()


@pytest.fixture(scope="module", params=BACKENDS)
def browsed_lake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browsed]:
    """Built once per module and backend; tests only read it."""
    with browsed(request, request.param, tmp_path_factory.mktemp("browsed")) as built:
        yield built


@pytest.fixture(scope="module")
def client(browsed_lake: Browsed) -> Iterator[TestClient]:
    from agrolake.ui.webapp import create_app

    with TestClient(create_app(browsed_lake.lake), raise_server_exceptions=False) as test_client:
        yield test_client
