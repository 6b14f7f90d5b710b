"""The flows run as the seed runs them: ``python -m etl.<module>`` from the project root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.samples import write_wine_quality
from agrolake.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_python_m_etl_modules_move_files_through_the_zones(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lake = Lake(Settings(home=home))
    lake.init()
    lake.store.put(
        "landing", "vino.csv", write_wine_quality(tmp_path / "w.csv", rows=20).read_bytes()
    )
    lake.store.put("landing", "roto.csv", b"\x00\x01")
    env = {
        **os.environ,
        "AGROLAKE_HOME": str(home),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }

    done = subprocess.run(
        [sys.executable, "-m", "etl.landing"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    # Quiet by default: the summary on stdout, none of Prefect's INFO chatter.
    [line] = done.stdout.splitlines()
    assert line.startswith("landing: 2 files → invalid 1, raw 1 ")
    assert "| INFO" not in done.stderr and "Traceback" not in done.stderr
    assert lake.catalog.count_by_status() == {"raw": 1, "invalid": 1}

    for module, expected, flags in (
        ("etl.trusted", "trusted: 1 ingests → 20 rows in 1 tables", []),
        ("etl.refined", "refined: refined.ml_wine_quality v1 (20 rows)", ["-v"]),
    ):
        done = subprocess.run(
            [sys.executable, "-m", module, *flags],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert expected in done.stdout
        # -v brings Prefect's own logs back.
        assert ("| INFO" in done.stderr + done.stdout) == bool(flags)
