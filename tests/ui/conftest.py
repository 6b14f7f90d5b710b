"""One browsed lake per test module and backend: the demo files, files with bad values
(quarantined rows of every kind), a file whose name and a cell whose value hold HTML,
and a trained model, so every page has something to show."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
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
        # Its rows all fail their checks: the quality report of such a file is being
        # fixed on main (zones/trusted.py); bring it back once that is merged.
        *[p for p in bad_value_files(folder / "bad") if not p.name.startswith("open-meteo")],
        *html_files(folder / "html"),
    ]
    upload(lake, files)
    run_all(lake)
    train_wine_quality(lake)
    return lake


@pytest.fixture(scope="module", params=BACKENDS)
def browsed_lake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lake]:
    """Built once per module and backend; tests only read it."""
    storage, catalog = request.param
    folder = tmp_path_factory.mktemp("browsed")
    values: dict[str, object] = {"home": folder / "home", "train_on_run": False}
    if storage == "s3":
        env = s3_env(request.getfixturevalue("s3_server"), f"u{secrets.token_hex(5)}")
        values |= {k.removeprefix("AGROLAKE_").lower(): v for k, v in env.items()}
    if catalog == "postgresql":
        values["catalog_url"] = request.getfixturevalue("postgres").create_database(
            f"u{secrets.token_hex(6)}"
        )
    with pytest.MonkeyPatch.context() as patch:
        # MLflow's default experiment writes under the working folder; keep it ours.
        patch.chdir(folder)
        for name in [n for n in os.environ if n.startswith(("AGROLAKE_", "MLFLOW_"))]:
            patch.delenv(name)
        lake = build_lake(Settings(_env_file=None, **values), folder)  # type: ignore[arg-type]
        yield lake
    lake.close()


@pytest.fixture(scope="module")
def client(browsed_lake: Lake) -> Iterator[TestClient]:
    from agrolake.ui.webapp import create_app

    with TestClient(create_app(browsed_lake), raise_server_exceptions=False) as test_client:
        yield test_client
