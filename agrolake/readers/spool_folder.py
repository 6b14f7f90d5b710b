"""Where readers put the files they hand out lazily: one folder of the process's spool.

A workbook's sheet reaches the caller as a lazy scan of a Parquet file the
reader child wrote; the file must outlive the call, so it cannot live in a
``spool()`` context of the reader's own. Every caller consumes one frame before
it reads the next, so only the newest few files are kept; the folder goes at
exit, and the next process's ``sweep`` removes it if this one was killed.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import uuid
from pathlib import Path

from agrolake.lake.spool import root, sweep

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
    mine = f"{os.getpid()}-"  # a forked child makes its own
    if _folder is None or not _folder.name.startswith(mine) or not _folder.is_dir():
        sweep()
        _folder = root() / f"{mine}readers-{secrets.token_hex(4)}"
        _folder.mkdir(parents=True, mode=0o700)
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder
