"""Put local files into the landing zone, as any uploader would."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agrolake.errors import ObjectExists, StorageError, UsageError
from agrolake.lake import Lake
from agrolake.lake.naming import INVALID_PREFIX, printable
from agrolake.lake.storage import Payload


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


MAX_KEY_BYTES = 1024  # S3's limit on a key
MAX_NAME_BYTES = 255  # a file name on the local folder's file system


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def files_under(paths: list[Path], *, follow_symlinks: bool = False) -> Iterator[tuple[Path, str]]:
    """Each file with its landing key: its name, or its path inside a given folder.

    Links inside a folder are not followed unless asked: a link may point outside the
    folder, at a file its owner did not mean to upload.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    for path in paths:
        if path.is_dir():
            for folder, folders, names in os.walk(path, followlinks=follow_symlinks):
                folders.sort()
                for name in sorted(names):
                    file = Path(folder) / name
                    if (follow_symlinks or not file.is_symlink()) and file.is_file():
                        yield file, file.relative_to(path).as_posix()
        elif path.is_file():
            yield path, path.name


def unstorable(key: str) -> str | None:
    """Why ``key`` cannot be a landing key (None when it can)."""
    if key.startswith(INVALID_PREFIX):
        return f"{INVALID_PREFIX} is where agrolake keeps rejected files: upload elsewhere"
    if printable(key) != key:
        return "its name holds control characters (tab, escape…): rename it"
    if len(key.encode()) > MAX_KEY_BYTES:
        return f"its path is over {MAX_KEY_BYTES} bytes"
    if any(len(part.encode()) > MAX_NAME_BYTES for part in key.split("/")):
        return f"a name in its path is over {MAX_NAME_BYTES} bytes"
    return None


def upload(
    lake: Lake,
    paths: list[Path],
    on_upload: Callable[[Upload], None] | None = None,
    *,
    follow_symlinks: bool = False,
    skipped: list[Skipped] | None = None,
) -> list[Upload]:
    """Upload files into landing without overwriting a pending object of the same name.

    A file whose name cannot be stored is left out and listed in ``skipped`` with the
    reason (an error if no list is given); the others are uploaded. An outage, a missing
    bucket or a key that may not put there stops.
    """
    done = []
    for path, key in files_under(paths, follow_symlinks=follow_symlinks):
        reason = unstorable(key)
        if reason is None:
            try:
                final = put_unique(lake, path, key)
            except StorageError as exc:
                if exc.transient or exc.stops_run:  # an outage, a missing bucket: every file
                    raise
                reason = exc.message
        if reason is not None:
            if skipped is None:
                raise UsageError(f"{printable(key)}: {reason}")
            skipped.append(Skipped(path, reason))
            continue
        item = Upload(path, final, path.stat().st_size)
        done.append(item)
        if on_upload:
            on_upload(item)
    return done


def put_unique(lake: Lake, data: Payload, key: str) -> str:
    """Put ``data`` in landing at ``key``, or ``key (2)`` and so on if one is pending there."""
    candidate = key
    for attempt in range(2, 1000):
        try:
            lake.store.put("landing", candidate, data, create_only=True)
            return candidate
        except ObjectExists:
            # A pending file has this name: keep both, as a browser keeps two downloads.
            stem, dot, suffix = key.rpartition(".")
            candidate = f"{stem} ({attempt}).{suffix}" if dot and stem else f"{key} ({attempt})"
    raise UsageError(f"too many pending files named {key} in landing")
