"""A fresh clone works as it is: VS Code's launch configurations need no file the clone
lacks, and ``.env.example`` names every setting (the README says it has every one)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

from agrolake.lake.settings_sources import known_variables

ROOT = Path(__file__).resolve().parent.parent


def _tracked() -> set[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True
    )
    return set(listed.stdout.splitlines())


def test_launch_configurations_need_no_missing_file() -> None:
    configurations = json.loads((ROOT / ".vscode" / "launch.json").read_text())["configurations"]
    tracked = _tracked()
    assert configurations
    for config in configurations:
        name = config["name"]
        assert importlib.util.find_spec(config["module"]) is not None, name
        assert config.get("cwd") == "${workspaceFolder}", name
        # An envFile a fresh clone lacks stops VS Code before the debugger starts
        # (.env is git-ignored; agrolake reads it itself when it exists).
        env_file = config.get("envFile", "").replace("${workspaceFolder}/", "")
        assert not env_file or env_file in tracked, (name, env_file)
        # The interpreter the set-up creates (scripts/dev.py installs into .venv).
        assert config.get("python") == "${workspaceFolder}/.venv/bin/python", name


def test_env_example_names_every_setting_and_nothing_else() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = re.findall(r"^#?\s*(AGROLAKE_[A-Z0-9_]+)=", text, re.MULTILINE)

    assert sorted(set(listed)) == known_variables()
    assert len(listed) == len(set(listed)), "a setting listed twice"
