"""The flows run as the seed runs them: ``python -m etl.<module>`` from the project root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.samples import write_wine_quality

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
        "AGROLAKE_LEASE_SECOND": "60",  # a typo: warned about, not a setting
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # A loaded CI machine may need more than the default 20 s to start it.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
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
    assert done.stderr.splitlines() == [
        "warning: AGROLAKE_LEASE_SECOND (from the environment) is not an agrolake setting; "
        "did you mean AGROLAKE_LEASE_SECONDS?"
    ]
    assert lake.catalog.count_by_status() == {"raw": 1, "invalid": 1}

    for module, expected, flags in (
        ("etl.landing", "landing: 0 files → nothing (0.0 MB in 0.0 s)", []),  # no flow run
        ("etl.trusted", "trusted: 1 ingests → 20 rows in 1 tables", []),
        ("etl.refined", "refined: refined.ml_wine_quality v1 (20 rows)", ["-v"]),
        ("etl.maintain", "maintain: ", []),
    ):
        done = subprocess.run(
            [sys.executable, "-m", module, *flags],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert expected in done.stdout
        # -v brings Prefect's own logs back.
        assert ("| INFO" in done.stderr + done.stdout) == bool(flags)
    assert lake.catalog.upkeep.maintained(), "etl.maintain recorded its maintenance"


def test_every_flow_module_ends_in_run_main() -> None:
    """``run_main`` is what makes a failure one ``error:`` line (and warns of typos)."""
    import ast

    for path in sorted((ROOT / "etl").glob("*.py")):
        tree = ast.parse(path.read_text())
        mains = [
            node
            for node in tree.body
            if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
        ]
        for main in mains:
            assert ast.unparse(main.body[0]).startswith("run_main("), path.name


@pytest.mark.slow
def test_api_flows_run_with_python_m_and_fail_in_one_line(tmp_path: Path) -> None:
    from agrolake.pipeline import run_all
    from agrolake.samples import write_parcels_and_treatments
    from tests.fake_apis import FakeOpenMeteo

    home = tmp_path / "home"
    lake = Lake(Settings(home=home))
    lake.init()
    farm = write_parcels_and_treatments(tmp_path / "Recintos.xlsx", rows=3, seed=5)
    lake.store.put("landing", farm.name, farm.read_bytes())
    run_all(lake)  # the enclosures whose municipalities the flow asks for
    server = FakeOpenMeteo()
    env = {
        **os.environ,
        "AGROLAKE_HOME": str(home),
        "AGROLAKE_OPEN_METEO_URL": server.archive_url,
        "AGROLAKE_WEATHER_START_DATE": "2024-03-01",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # A loaded CI machine may need more than the default 20 s to start it.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    offline = env | {"AGROLAKE_OPEN_METEO_URL": "http://agrolake-test.invalid/v1/archive"}
    try:
        unreachable = subprocess.run(
            [sys.executable, "-m", "etl.weather"],
            cwd=ROOT, env=offline, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "etl.weather"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        server.stop()

    # No network (here: a name that never resolves): one error line, no retries.
    assert unreachable.returncode == 1
    [error] = unreachable.stderr.splitlines()
    assert error.startswith("error: weather (Open-Meteo): ") and "stopped at request 1 of" in error
    assert "does not resolve or the network is down" in error
    assert "failed" not in unreachable.stdout

    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("weather (Open-Meteo): ")
    assert any(line.startswith("landing: ") for line in lines)
    assert "| INFO" not in done.stderr and "Traceback" not in done.stderr
    assert server.requests, "the flow asked the fake Open-Meteo"
    assert lake.catalog.count_by_dataset(["trusted"])["weather.open_meteo_daily"] == len(
        server.requests
    )

    done = subprocess.run(
        [sys.executable, "-m", "etl.ndvi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: no NDVI service configured: set AGROLAKE_NDVI_URL (and AGROLAKE_NDVI_TOKEN), "
        "or drop NDVI files (date, enclosure_id, ndvi) in landing"
    )
