"""What every benchmark report states: the machine, the package versions, the commit."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine(packages: Sequence[str] = ()) -> str:
    """CPUs, CPU model, memory, Python and platform, and the given packages' versions."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    versions = ", ".join(f"{p} {md.version(p)}" for p in packages)
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"{mem:.0f} GiB RAM; Python {platform.python_version()} on {platform.platform()}"
        + (f"; {versions}" if versions else "")
    )


def revision() -> str:
    """The measured commit, and whether agrolake/ had uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "agrolake"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (agrolake/ with uncommitted changes)" if dirty else "")
