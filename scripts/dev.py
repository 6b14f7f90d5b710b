"""The project's two set-up commands, on a machine that has only python3.

    python3 scripts/dev.py demo    # install, then run `agrolake demo`
    python3 scripts/dev.py test    # install (and chromium, for the browser tests), then lint
                                   # and run the whole test suite
    python3 scripts/dev.py check   # install, then only the lint steps (ruff, imports, mypy)

It bootstraps uv (pinned) into .tools/ unless uv is on PATH, then installs the
locked environment into .venv/ with `uv sync --locked`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV_VERSION = "0.13.9"
PYTEST_NO_TESTS = 5


def uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    tools = ROOT / ".tools"
    local = tools / "bin" / "uv"
    if not local.exists():
        print(f"bootstrapping uv {UV_VERSION} into {tools}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
        pip = [str(tools / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, f"uv=={UV_VERSION}"], check=True)
    return str(local)


def run(*args: str) -> int:
    print("+", " ".join(args), flush=True)
    return subprocess.run(args, cwd=ROOT, check=False).returncode


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium (Playwright's own browser download
    cannot work offline): install it when missing and apt is there."""
    if shutil.which("chromium") or shutil.which("chromium-browser") or not shutil.which("apt-get"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("+ apt-get install chromium (for the browser tests)", flush=True)
    for step in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        if subprocess.run([*sudo, *step], env=env, check=False).returncode != 0:
            print("could not install chromium: the browser tests will fail", flush=True)
            return


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "check"):
        print(__doc__)
        return 2
    os.environ.setdefault("UV_PYTHON", sys.executable)
    tool = uv()
    # Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (as on some CI
    # machines) every process would otherwise compile Prefect, SQLAlchemy and the
    # rest from source, seconds per flow run (docs/orchestration.md, cold start).
    if run(tool, "sync", "--locked", "--compile-bytecode") != 0:
        return 1
    command, rest = argv[0], argv[1:]
    if command == "demo":
        return run(tool, "run", "--no-sync", "agrolake", "demo", *rest)
    for check in (
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
        ("lint-imports",),
        ("mypy",),
    ):
        if run(tool, "run", "--no-sync", *check) != 0:
            return 1
    if command == "check":
        return 0
    ensure_chromium()
    code = run(tool, "run", "--no-sync", "pytest", *rest)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure here", flush=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
