"""Where readers put the files they hand out lazily: one folder per process.

A workbook's sheet reaches the caller as a lazy scan of a Parquet file the
reader child wrote; the file must outlive the call, so it cannot be a
``TemporaryDirectory`` of the reader's. Every caller consumes one frame before
it reads the next, so only the newest few files are kept; the folder goes at
exit, and folders left by processes that died are removed by the next one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from pathlib import Path

PREFIX = "agrolake-readers-"
#: Files kept: a frame stays readable until this many more were handed out.
KEEP = 4

_folder: Path | None = None


def spool_file(suffix: str) -> Path:
    """A new file name in this process's folder; the oldest files beyond KEEP are deleted."""
    folder = _own_folder()
    made = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    for old in made[: max(len(made) - KEEP + 1, 0)]:
        old.unlink(missing_ok=True)
    return folder / f"{uuid.uuid4().hex}{suffix}"


def _own_folder() -> Path:
    global _folder
    if _folder is None or not _folder.is_dir() or not _folder.name.startswith(_prefix()):
        _remove_orphans()
        _folder = Path(tempfile.mkdtemp(prefix=_prefix()))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def _prefix() -> str:
    return f"{PREFIX}{os.getpid()}-"


def _remove_orphans() -> None:
    """Folders of processes that are gone (killed before their exit handlers ran)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = folder.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
