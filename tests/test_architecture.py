"""The layers of DESIGN: the library never imports Prefect, the flows or the CLI."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import agrolake

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"agrolake.cli", "agrolake.__main__"}


def test_every_library_module_is_under_the_import_rule() -> None:
    """import-linter (run by the test command) checks the listed modules: list them all."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [rule] = [c for c in config["contracts"] if c["type"] == "forbidden"]
    assert {"prefect", "etl", "agrolake.cli"} <= set(rule["forbidden_modules"])
    listed = set(rule["source_modules"])
    modules = (
        {f"agrolake.{m.name}" for m in pkgutil.iter_modules(agrolake.__path__)}
        - ENTRY_POINTS
        - {"agrolake.data"}
    )
    assert modules <= listed, f"add to the import rule: {sorted(modules - listed)}"


def test_library_does_not_import_prefect_at_run_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agrolake.landing, agrolake.reports, agrolake.replay, agrolake.uploads;"
        "print('prefect' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
