"""Landing's store side: a landing object read once (hashed on the way), its bytes copied
to raw or to ``invalid/`` with a reason report, the landing object deleted last.

Each function is one file's requests, so a batch overlaps them on a few threads.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agrolake.errors import FileRejected, ObjectNotFound, StorageError
from agrolake.lake import Lake
from agrolake.lake.naming import INVALID_PREFIX
from agrolake.lake.read_options import ReadOptions
from agrolake.lake.settings import Zone
from agrolake.lake.storage import ObjectInfo

if TYPE_CHECKING:
    from agrolake.datasets.model import Dataset

REASON_SUFFIX = ".reason.json"
#: Objects up to this size are held in memory between the read and the put to raw;
#: larger ones are put from their spool file (memory stays bounded per batch).
IN_MEMORY_BYTES = 1024 * 1024
CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
}


@dataclass(frozen=True)
class Fetched:
    """A landing object read once: its spool file (what the readers read), its SHA-256,
    and for a small object its bytes (put to raw from memory)."""

    path: Path
    sha256: str
    data: bytes | None


def safe_name(key: str) -> str:
    """The last part of a key as a file name for zone keys: no separators, dots or controls."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"
    return name[:180]


def raw_key(dataset: Dataset, ingest_id: str, name: str, when: datetime) -> str:
    return f"{dataset.source}/{dataset.id}/{when:%Y/%m/%d}/{ingest_id}-{safe_name(name)}"


def invalid_key(ingest_id: str, name: str, when: datetime) -> str:
    return f"{INVALID_PREFIX}{when:%Y-%m-%d}/{ingest_id}-{safe_name(name)}"


def fetch(lake: Lake, obj: ObjectInfo, path: Path) -> Fetched:
    """Read the landing object once into ``path``, hashing it on the way."""
    digest = hashlib.sha256()
    if obj.size <= IN_MEMORY_BYTES:
        data = lake.store.read("landing", obj.key)
        digest.update(data)
        path.write_bytes(data)
        return Fetched(path, digest.hexdigest(), data)
    with path.open("wb") as out:
        for chunk in lake.store.stream("landing", obj.key):
            digest.update(chunk)
            out.write(chunk)
    return Fetched(path, digest.hexdigest(), None)


def put_raw(
    lake: Lake,
    obj: ObjectInfo,
    ingest_id: str,
    fetched: Fetched,
    dataset: Dataset,
    options: ReadOptions,
) -> str:
    """Copy the unchanged bytes to raw, with metadata and tags; the raw key."""
    now = datetime.now(UTC)
    key = raw_key(dataset, ingest_id, obj.key, now)
    metadata = {
        "dataset": dataset.id,
        "source": dataset.source,
        "ingest-id": ingest_id,
        "ingested-at": now.isoformat(),
        "sha256": fetched.sha256,
        "original-key": obj.key,
        "contract-version": str(dataset.version),
    }
    tags = {"dataset": dataset.id, "source": dataset.source, "zone": "raw"}
    # Not create-only: obstore sends a create-only put as one request holding the
    # whole file in memory, and the key holds the ingest id, so the only object it
    # can replace is an earlier attempt of this same ingest (same bytes).
    lake.store.put(
        "raw", key, fetched.data if fetched.data is not None else fetched.path,
        metadata=metadata, content_type=CONTENT_TYPES.get(options.format), tags=tags,
    )  # fmt: skip
    if fetched.data is None:
        # A multipart upload is assembled by the server: check it. A small file went in
        # one atomic request of its exact length, which fails or stores it whole.
        verify(lake, "raw", key, obj.size)
    return key


def reject(
    lake: Lake, obj: ObjectInfo, ingest_id: str, rejection: FileRejected, sha256: str | None
) -> tuple[str, dict[str, Any]]:
    """Keep the file unchanged in ``invalid/`` with its reason report; key and report."""
    now = datetime.now(UTC)
    key = invalid_key(ingest_id, obj.key, now)
    report: dict[str, Any] = {
        "ingest_id": ingest_id,
        "original_key": obj.key,
        "original_name": obj.key.rsplit("/", 1)[-1],
        "size": obj.size,
        "sha256": sha256,
        "rejected_at": now.isoformat(),
        "code": rejection.code,
        "reason": rejection.reason,
        "details": rejection.details,
    }
    # The key holds the ingest id: overwriting can only replace this ingest's own copy.
    lake.store.copy("landing", obj.key, "landing", key)
    lake.store.put(
        "landing",
        key + REASON_SUFFIX,
        json.dumps(report, ensure_ascii=False, indent=2, default=str).encode(),
        content_type="application/json",
    )
    verify(lake, "landing", key, obj.size)
    return key, report


def verify(lake: Lake, zone: Zone, key: str, size: int) -> None:
    written = lake.store.head(zone, key)
    if written.size != size:
        raise StorageError(
            f"copy check failed for {lake.store.describe(zone, key)}: "
            f"{written.size} bytes written, {size} expected; the landing file is kept",
            zone=zone,
            key=key,
        )


def delete_landing(lake: Lake, obj: ObjectInfo) -> None:
    """Delete the landing object, unless someone uploaded a new version meanwhile."""
    try:
        current = lake.store.head("landing", obj.key)
    except ObjectNotFound:
        return
    # Not `version`: listings and HEAD report modification times at different precisions.
    same = (current.etag, current.size) == (obj.etag, obj.size)
    if same and (obj.etag or current.last_modified == obj.last_modified):
        lake.store.delete("landing", obj.key)
