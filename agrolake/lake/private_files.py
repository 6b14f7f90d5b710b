"""Files and folders only their owner may open: the home, the catalog, MLflow's store, the
stack's secrets.

Each is created with its mode from the start (``os.open``/``os.mkdir`` with the mode),
so there is no moment at which another user could open it, then set to exactly that
mode (a umask can only take rights away, but a strict one would take the owner's).
What exists already is left as it is: a folder shared with a group on purpose stays
shared.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """``path`` as a folder, it and each missing parent created 0700; returns ``path``."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile: its mode is its own
        os.chmod(folder, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` as an empty file created 0600 (its missing folders 0700), unless it
    exists. SQLite opens an empty file as an empty database, and gives its journal and
    WAL files the database file's mode."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            os.fchmod(descriptor, FILE_MODE)
        finally:
            os.close(descriptor)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), atomically."""
    private_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
