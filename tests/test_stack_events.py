"""`agrolake run` on the services profile announces its table versions to Prefect, as the
flows do, so the retraining trigger fires for it too (no worker here: the run is the
only writer)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agrolake.samples import write_wine_quality
from tests.conftest import s3_env
from tests.services import PostgresServer, PrefectServer, S3Server
from tests.test_orchestration import api, wait_for

pytestmark = pytest.mark.slow

AGROLAKE = str(Path(sys.executable).parent / "agrolake")


def test_agrolake_run_publishes_the_table_versions_it_wrote(
    prefect_server: PrefectServer, s3_server: S3Server, postgres: PostgresServer, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **s3_env(s3_server, f"e{secrets.token_hex(5)}"),
        **prefect_server.client_env(),
        "AGROLAKE_HOME": str(tmp_path / "home"),
        "AGROLAKE_CATALOG_URL": postgres.create_database(f"e{secrets.token_hex(6)}"),
    }
    wine = write_wine_quality(tmp_path / "vino.csv", rows=40)
    since = datetime.now(UTC)
    for argv in (["init"], ["ingest", str(wine)], ["run"]):
        done = subprocess.run(
            [AGROLAKE, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert "table versions announced to Prefect" in done.stderr

    def announced() -> set[str]:
        found = api(prefect_server, "POST", "/events/filter", {
            "filter": {"event": {"name": ["agrolake.table.updated"]},
                       "occurred": {"since": since.isoformat()}},
            "limit": 50,
        })["events"]  # fmt: skip
        return {e["resource"]["agrolake.table"] for e in found}

    # The server stores events asynchronously: the command has sent them, give it a moment.
    expected = {"trusted.lab_wine_quality", "refined.ml_wine_quality"}
    wait_for("the table events", lambda: expected <= announced(), 60, lambda: str(announced()))
