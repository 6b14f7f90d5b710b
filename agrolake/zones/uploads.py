"""Put local files into the landing zone, as any uploader would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agrolake.errors import ObjectExists, UsageError
from agrolake.lake import Lake
from agrolake.lake.storage import Payload


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


def files_under(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Each file with its landing key: its name, or its path inside a given folder."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                yield file, file.relative_to(path).as_posix()
        elif path.is_file():
            yield path, path.name


def upload(
    lake: Lake, paths: list[Path], on_upload: Callable[[Upload], None] | None = None
) -> list[Upload]:
    """Upload files into landing without overwriting a pending object of the same name."""
    done = []
    for path, key in files_under(paths):
        final = put_unique(lake, path, key)
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
