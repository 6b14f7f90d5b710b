"""Temporary files of a run, under one folder per process that the next run removes.

A process killed with SIGKILL cannot clean up after itself; its spool folder is
named after its pid, so the next process on the host removes the folders of
processes that are gone before it starts its own.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT_NAME = "agrolake-spool"


def root() -> Path:
    return Path(tempfile.gettempdir()) / ROOT_NAME


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep() -> list[Path]:
    """Remove the spool folders of processes that are gone; the folders removed."""
    removed = []
    for folder in root().glob("*-*"):
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def spool(purpose: str) -> Iterator[Path]:
    """A fresh folder for ``purpose`` under this process's spool folder, removed after."""
    sweep()
    mine = root() / f"{os.getpid()}-{purpose}-{secrets.token_hex(4)}"
    mine.mkdir(parents=True, mode=0o700)
    try:
        yield mine
    finally:
        shutil.rmtree(mine, ignore_errors=True)
