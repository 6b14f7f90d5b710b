"""Shared fixtures: a clean environment, one S3 server and one PostgreSQL per session,
and a fresh lake per test on each backend."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from tests.services import (
    PostgresServer,
    PrefectServer,
    S3Server,
    start_postgres,
    start_prefect_server,
    start_seaweedfs,
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AGROLAKE_* setting or .env of the developer leaks into a test."""
    for name in list(os.environ):
        if name.startswith("AGROLAKE_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name)
    # Training takes seconds: only the tests of the model lifecycle turn it on.
    monkeypatch.setenv("AGROLAKE_TRAIN_ON_RUN", "false")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """One real `prefect server start` (SQLite) for every orchestration test."""
    server = start_prefect_server(tmp_path_factory.mktemp("prefect"))
    yield server
    server.stop()


def s3_env(server: S3Server, prefix: str) -> dict[str, str]:
    """AGROLAKE_* variables for a lake on ``server`` with its own buckets."""
    env = {
        "AGROLAKE_STORAGE_URL": "s3://",
        "AGROLAKE_S3_ENDPOINT_URL": server.endpoint_url,
        "AGROLAKE_S3_ACCESS_KEY_ID": server.access_key_id,
        "AGROLAKE_S3_SECRET_ACCESS_KEY": server.secret_access_key,
        "AGROLAKE_S3_REGION": server.region,
    }
    for zone in ("landing", "raw", "trusted", "refined"):
        env[f"AGROLAKE_BUCKET_{zone.upper()}"] = f"{prefix}-{zone}-zone"
    return env


@pytest.fixture
def new_catalog_url(request: pytest.FixtureRequest) -> str:
    """A fresh catalog on the backend named by the ``catalog`` param (default SQLite)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.create_database(f"t{secrets.token_hex(6)}")
    home: Path = request.getfixturevalue("tmp_path")
    return f"sqlite:///{home / 'catalog.db'}"


BACKENDS = [
    pytest.param(("local", "sqlite"), id="local-sqlite"),
    pytest.param(("s3", "postgresql"), id="s3-postgresql"),
]


@pytest.fixture(params=BACKENDS)
def lake_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of a fresh, initialised lake on each storage/catalog backend."""
    storage, catalog = request.param
    env = {"AGROLAKE_HOME": str(tmp_path / "home")}
    if storage == "s3":
        env |= s3_env(request.getfixturevalue("s3_server"), f"t{secrets.token_hex(5)}")
    if catalog == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        env["AGROLAKE_CATALOG_URL"] = server.create_database(f"t{secrets.token_hex(6)}")
    return env


@pytest.fixture
def lake(lake_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    for name, value in lake_env.items():
        monkeypatch.setenv(name, value)
    lake = Lake(Settings())
    lake.init()
    yield lake
    lake.close()


@pytest.fixture
def demo_lake(lake: Lake, tmp_path: Path) -> Lake:
    """A lake on each backend after the demo files went through every zone."""
    from agrolake.pipeline import run_all
    from agrolake.samples import write_demo_set
    from agrolake.zones.uploads import upload

    upload(lake, [Path(p) for p in write_demo_set(tmp_path / "demo")])
    run_all(lake)
    return lake


@pytest.fixture
def local_lake(tmp_path: Path) -> Iterator[Lake]:
    """A lake on the embedded default only, for tests of logic that no backend changes."""
    lake = Lake(Settings(home=tmp_path / "home"))
    lake.init()
    yield lake
    lake.close()
