"""The layers of DESIGN: the library never imports Prefect, the flows or the CLI."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import agrolake

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"agrolake.cli", "agrolake.cli_datasets", "agrolake.__main__"}


def _library_packages() -> set[str]:
    top = {f"agrolake.{m.name}" for m in pkgutil.iter_modules(agrolake.__path__)}
    return top - ENTRY_POINTS - {"agrolake.data"}


def test_every_library_package_is_under_the_import_rules() -> None:
    """import-linter (run by the test command) checks what the rules name: name every part."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    [prefect_rule] = [c for c in config["contracts"] if "Prefect" in c["name"]]
    assert {"prefect", "etl", "agrolake.cli"} <= set(prefect_rule["forbidden_modules"])
    listed = set(prefect_rule["source_modules"])
    assert _library_packages() <= listed, f"add to the rule: {sorted(_library_packages() - listed)}"
    [layers] = [c for c in config["contracts"] if c["type"] == "layers"]
    layered = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert _library_packages() <= layered, f"give a layer: {sorted(_library_packages() - layered)}"


def test_no_two_library_modules_share_a_name() -> None:
    """``server.py`` in two packages reads as one thing; each module name says which."""
    seen: dict[str, str] = {}
    twice = []
    for info in pkgutil.walk_packages(agrolake.__path__, "agrolake."):
        name = info.name.rsplit(".", 1)[-1]
        if info.ispkg or name.startswith("__") or ".migrations" in info.name:
            continue
        if name in seen:
            twice.append(f"{seen[name]} and {info.name}")
        seen[name] = info.name
    assert not twice, twice


def test_library_does_not_import_prefect_at_run_time() -> None:
    import subprocess
    import sys

    code = (
        "import sys, agrolake.zones.landing, agrolake.answers.reports, agrolake.zones.replay,"
        " agrolake.zones.uploads;"
        "print('prefect' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
