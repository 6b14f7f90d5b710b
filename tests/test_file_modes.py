"""What agrolake creates for itself is its owner's only: folders 0700, the catalog and
MLflow's store 0600, whatever the umask lets through (docs/security.md)."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agrolake.cli import main
from agrolake.lake.settings import Settings
from agrolake.stack.layout import StackLayout, StackState, save_state


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (022) would let new files be read by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_init_makes_the_home_lake_and_catalog_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "deep" / "home"
    monkeypatch.setenv("AGROLAKE_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["agrolake", "init"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0

    for folder in (tmp_path / "deep", home, home / "lake", home / "lake" / "raw-zone"):
        assert mode(folder) == 0o700, folder
    catalog = home / "catalog.db"
    assert mode(catalog) == 0o600
    # SQLite gives its write-ahead log and shared memory file the database's mode.
    for beside in (home / "catalog.db-wal", home / "catalog.db-shm"):
        if beside.exists():
            assert mode(beside) == 0o600, beside


def test_a_catalog_elsewhere_is_private_and_existing_folders_keep_their_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    monkeypatch.setenv("AGROLAKE_HOME", str(shared))
    monkeypatch.setenv("AGROLAKE_CATALOG_URL", f"sqlite:///{tmp_path / 'db' / 'lake.db'}")
    monkeypatch.setattr(sys, "argv", ["agrolake", "status", "--json"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    assert mode(shared) == 0o755, "a folder made by someone else is left as it is"
    assert mode(tmp_path / "db") == 0o700
    assert mode(tmp_path / "db" / "lake.db") == 0o600


def test_mlflow_stores_are_private(tmp_path: Path) -> None:
    from agrolake.ml.tracking import client
    from agrolake.ml.tracking_server import _ensure_sqlite_file

    settings = Settings(home=tmp_path / "home")
    client(settings)  # the embedded store, created at first use
    assert mode(settings.home) == 0o700
    assert mode(settings.home / "mlflow.db") == 0o600
    assert mode(settings.artifacts_folder) == 0o700

    served = tmp_path / "server" / "mlflow.db"  # `agrolake mlflow-server`'s default store
    _ensure_sqlite_file(f"sqlite:///{served}")
    assert mode(served) == 0o600 and mode(served.parent) == 0o700


def test_stack_files_are_private(tmp_path: Path) -> None:
    layout = StackLayout.under(tmp_path / "home")
    layout.ensure()
    save_state(layout, StackState("127.0.0.1", 1, {}, s3_managed=True, postgres_managed=True))
    for folder in (layout.root, layout.logs, layout.root / "data"):
        assert mode(folder) == 0o700, folder
    assert mode(layout.state_file) == 0o600
