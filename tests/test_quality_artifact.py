"""The trusted flow publishes its quality reports as a Prefect artifact on the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.zones.landing import process_landing
from tests.pinned_lake import bad_value_files
from tests.services import PrefectServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_trusted_flow_publishes_the_quality_report(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    lake = Lake(Settings(home=home))
    lake.init()
    [wine] = [p for p in bad_value_files(tmp_path / "bad") if p.name.startswith("winequality")]
    lake.store.put("landing", wine.name, wine.read_bytes())
    process_landing(lake)
    env = {**os.environ, **prefect_server.client_env(), "AGROLAKE_HOME": str(home)}

    done = subprocess.run(
        [sys.executable, "-m", "etl.trusted"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    request = urllib.request.Request(
        prefect_server.api_url + "/artifacts/filter",
        data=json.dumps({"artifacts": {"key": {"any_": ["trusted-quality"]}}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        artifacts = json.loads(response.read())
    [artifact] = [a for a in artifacts if "winequality_valores_malos.csv" in a["data"]]
    assert artifact["type"] == "markdown" and artifact["flow_run_id"]
    assert "3 rows quarantined" in artifact["data"]
    assert "range:0..10 ×1" in artifact["data"] and "| 8 | 5 | 3 |" in artifact["data"]
