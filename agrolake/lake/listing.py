"""The landing listing, robust to what users put there.

One odd key must never block the lake: obstore refuses a whole listing when one
key holds a control character (``Informe\\t2024.csv``, BEL, ESC), which S3
servers accept. Such keys are listed apart (they stay in landing, named in every
run's summary until someone renames them), and the rest is processed. S3 folder
markers (``folder/``, zero bytes) are listed by obstore without their slash and
cannot be read: they are counted, never claimed. Keys under ``invalid/`` that
agrolake did not write there are counted as misplaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from obstore import exceptions as obs_errors

from agrolake.errors import StorageError
from agrolake.lake.naming import INVALID_PREFIX
from agrolake.lake.settings import Zone
from agrolake.lake.storage import ObjectInfo, ObjectStore

# invalid/<yyyy-mm-dd>/<ingest id>-<name>[.reason.json]: what landing writes there.
OURS = re.compile(r"^invalid/\d{4}-\d{2}-\d{2}/\d{8}T\d{12}Z-[0-9a-f]{8}-")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Listing:
    """A zone's objects as landing sees them."""

    pending: list[ObjectInfo] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # keys obstore cannot address
    folder_markers: int = 0
    misplaced: int = 0  # under invalid/, not put there by agrolake


def list_landing(store: ObjectStore, zone: Zone = "landing") -> Listing:
    """Every object waiting in landing, and what cannot be processed."""
    listing = Listing()
    try:
        objects = list(store.list(zone))
    except StorageError as exc:
        if not isinstance(exc.__cause__, obs_errors.InvalidPathError | ValueError):
            raise
        objects = _one_by_one(store, zone, listing)
    for info in objects:
        if info.key.startswith(INVALID_PREFIX):
            listing.misplaced += not OURS.match(info.key)
        elif info.key.endswith("/"):
            listing.folder_markers += 1
        elif info.size == 0 and store.is_s3 and store.addressable(zone, info.key) is None:
            listing.folder_markers += 1  # "folder/", listed without its slash
        else:
            listing.pending.append(info)
    return listing


def _one_by_one(store: ObjectStore, zone: Zone, listing: Listing) -> list[ObjectInfo]:
    """The slow path, taken only when a key breaks the listing: each key on its own."""
    found = []
    for key in store.raw_keys(zone):
        if key.endswith("/"):
            found.append(ObjectInfo(key, 0, _EPOCH, None))
            continue
        info = store.addressable(zone, key)
        if info is None:
            listing.unreadable.append(key)
        else:
            found.append(info)
    return found
