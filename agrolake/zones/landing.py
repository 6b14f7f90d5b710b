"""Landing → raw or invalid: exactly once, nothing lost, every rejection explained.

For each landing object: claim it in the catalog, stream it to a spool file
(hashing on the way), read its structure, recognise its dataset, then
copy the unchanged bytes to raw (or to ``invalid/`` with a reason report), verify
the copy, record the outcome, and only then delete the landing object.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agrolake.errors import AgrolakeError, FileRejected, ObjectNotFound, StorageError
from agrolake.lake import Lake
from agrolake.lake.catalog import (
    CLAIMED,
    DUPLICATE,
    INVALID,
    RAW,
    Claim,
    DuplicateRecord,
    InvalidRecord,
    RawRecord,
    utcnow,
)
from agrolake.lake.catalog.heartbeat import Heartbeat
from agrolake.lake.listing import list_landing
from agrolake.lake.naming import INVALID_PREFIX
from agrolake.lake.read_options import ReadOptions
from agrolake.lake.settings import Zone
from agrolake.lake.spool import spool as spool_folder
from agrolake.lake.storage import ObjectInfo

if TYPE_CHECKING:
    from agrolake.datasets.model import Dataset

REASON_SUFFIX = ".reason.json"
#: A file that failed on storage or catalog trouble waits this long before the next
#: attempt, so a flow that goes round again at once does not use up its attempts.
RETRY_AFTER = timedelta(seconds=30)
CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
}


@dataclass(frozen=True)
class Outcome:
    """What happened to one landing object."""

    ingest_id: str
    landing_key: str
    # raw, invalid, duplicate, retry (failed now, tried again later), lost (another
    # worker took the claim over), vanished (deleted before it was read)
    status: str
    size: int = 0
    dataset: str | None = None
    key: str | None = None  # where the bytes are now: raw key or invalid key
    reason: str | None = None


@dataclass
class LandingSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    waiting: dict[str, int] = field(default_factory=dict)  # other live workers' claims
    unreadable: list[str] = field(default_factory=list)  # keys left in landing, by name
    stopped: str | None = None  # an outage stopped landing: why

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.outcomes)

    def line(self) -> str:
        counts = (
            ", ".join(f"{status} {n}" for status, n in sorted(self.counts.items())) or "nothing"
        )
        line = (
            f"landing: {len(self.outcomes)} files → {counts} "
            f"({self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s)"
        )
        if self.waiting:
            holders = ", ".join(sorted(self.waiting))
            line += f"; waiting for {sum(self.waiting.values())} files claimed by {holders}"
        if self.unreadable:
            line += f"; {len(self.unreadable)} keys skipped (rename them: see `agrolake status`)"
        return line


def safe_name(key: str) -> str:
    """The last part of a key as a file name for zone keys: no separators, dots or controls."""
    name = key.rstrip("/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "file"
    return name[:180]


def pending(lake: Lake) -> Iterator[ObjectInfo]:
    """Landing objects waiting to be processed (not rejected ones, not folder markers)."""
    yield from list_landing(lake.store).pending


def process_landing(
    lake: Lake,
    *,
    max_files: int | None = None,
    on_listed: Callable[[int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> LandingSummary:
    """Process landing until nothing claimable is left (or ``max_files`` are done).

    An outage of the store or the catalog stops landing at once (``stopped``): the
    summary still holds what was done before it, and the files not reached keep
    their claims' attempts for the next run.
    """
    started = time.perf_counter()
    summary = LandingSummary()
    tried: set[str] = set()
    lease = timedelta(seconds=lake.settings.lease_seconds)
    datasets = _Datasets(lake)
    heartbeat = Heartbeat(lake.catalog, lake.worker, lease)
    seen: list[tuple[str, str]] = []
    try:
        lake.catalog.expire_gone_workers()
        with spool_folder("landing") as spool, heartbeat.running():
            while max_files is None or len(summary.outcomes) < max_files:
                listing = list_landing(lake.store)
                summary.unreadable = listing.unreadable
                waiting = [o for o in listing.pending if f"{o.key}\0{o.version}" not in tried]
                seen += [(o.key, o.version) for o in waiting]
                if on_listed:
                    on_listed(len(waiting))
                if not _land_batches(lake, waiting, spool, datasets, heartbeat, summary, tried,
                                     max_files, on_outcome):  # fmt: skip
                    break
        summary.waiting = lake.catalog.claimed_by_others(lake.worker, CLAIMED, seen)
    except AgrolakeError as exc:
        if not exc.transient:
            raise
        summary.stopped = exc.message
    summary.seconds = time.perf_counter() - started
    return summary


def _land_batches(
    lake: Lake,
    waiting: list[ObjectInfo],
    spool: Path,
    datasets: Callable[[], Sequence[Dataset]],
    heartbeat: Heartbeat,
    summary: LandingSummary,
    tried: set[str],
    max_files: int | None,
    on_outcome: Callable[[Outcome], None] | None,
) -> bool:
    """Claim and land the listed objects batch by batch; whether any was landed."""
    lease = timedelta(seconds=lake.settings.lease_seconds)
    progressed = False
    for start in range(0, len(waiting), lake.settings.batch_size):
        batch = waiting[start : start + lake.settings.batch_size]
        tried.update(f"{o.key}\0{o.version}" for o in batch)
        claims = lake.catalog.claim(batch, lake.worker, lease)
        heartbeat.hold(c.ingest_id for c in claims if not c.finished)
        tried_now: set[str] = set()
        try:
            for claim in claims:
                if max_files is not None and len(summary.outcomes) >= max_files:
                    break
                tried_now.add(claim.ingest_id)
                outcome = land_one(lake, claim, spool, datasets)
                heartbeat.release([claim.ingest_id])
                summary.outcomes.append(outcome)
                progressed = True
                if on_outcome:
                    on_outcome(outcome)
        finally:
            # What this run does not reach (max_files, an outage) is given back now.
            left = [c.ingest_id for c in claims if not c.finished and c.ingest_id not in tried_now]
            heartbeat.release(left)
            with suppress(AgrolakeError):
                lake.catalog.release(left, lake.worker)
    return progressed


class _Datasets:
    """The enabled datasets, loaded at the first file: a run that finds landing empty
    skips the registry (and polars) altogether."""

    def __init__(self, lake: Lake) -> None:
        self._lake = lake
        self._loaded: tuple[Dataset, ...] | None = None

    def __call__(self) -> tuple[Dataset, ...]:
        if self._loaded is None:
            from agrolake.datasets.registry import load_registry

            self._loaded = load_registry(self._lake.settings).enabled
        return self._loaded


def land_one(
    lake: Lake, claim: Claim, spool: Path, datasets: Callable[[], Sequence[Dataset]]
) -> Outcome:
    """Take one claimed landing object to raw, invalid or duplicate.

    Whatever fails on this file stays on this file: its reason is recorded and it
    is tried again by a later run, up to ``AGROLAKE_MAX_ATTEMPTS`` times, then
    rejected as ``processing_failed``. Only an outage (store or catalog
    unreachable) goes up, to stop the run.
    """
    if claim.finished:
        return _clean_up(lake, claim)
    if claim.attempts > lake.settings.max_attempts:
        known = lake.catalog.get(claim.ingest_id)
        previous = (known.reason if known else None) or "unknown error"
        rejection = FileRejected(
            f"processing failed {lake.settings.max_attempts} times; last error: {previous}",
            code="processing_failed",
        )
        return _reject(lake, claim, rejection, sha256=None)
    try:
        return _land(lake, claim, spool, datasets)
    except ObjectNotFound:
        # Deleted (or replaced) between the listing and the read: nothing to keep.
        lake.catalog.forget(claim.ingest_id, lake.worker)
        return Outcome(claim.ingest_id, claim.obj.key, "vanished", reason="no longer in landing")
    except AgrolakeError as exc:
        # An outage, a missing bucket or a refused key: not this file's fault. It is
        # untried, free at once, and the run stops.
        if exc.transient or exc.stops_run:
            with suppress(AgrolakeError):
                lake.catalog.record_failure(claim.ingest_id, lake.worker, exc.message)
                lake.catalog.release([claim.ingest_id], lake.worker)
            raise
        return _retry(lake, claim, exc.message)
    except Exception as exc:  # a bug must not stop the batch: it is this file's reason
        return _retry(lake, claim, f"unexpected {type(exc).__name__}: {_first_line(exc)}")


def _retry(lake: Lake, claim: Claim, reason: str) -> Outcome:
    _record_failure(lake, claim, reason)
    return Outcome(claim.ingest_id, claim.obj.key, "retry", claim.obj.size, reason=reason)


def _record_failure(lake: Lake, claim: Claim, reason: str) -> None:
    """Record why this attempt failed; the file waits a little before the next one."""
    with suppress(AgrolakeError):  # the catalog itself may be what failed
        lake.catalog.record_failure(claim.ingest_id, lake.worker, reason, retry_after=RETRY_AFTER)


def _land(
    lake: Lake, claim: Claim, spool: Path, datasets: Callable[[], Sequence[Dataset]]
) -> Outcome:
    obj, settings = claim.obj, lake.settings
    name = obj.key.rsplit("/", 1)[-1]
    if obj.size > settings.max_file_bytes:
        too_big = FileRejected(
            f"{name} is {obj.size / 1024**2:.1f} MB, over the limit of {settings.max_file_mb:g} MB "
            "(AGROLAKE_MAX_FILE_MB); it was not read",
            code="too_large",
            size=obj.size,
            limit_mb=settings.max_file_mb,
        )
        return _reject(lake, claim, too_big, sha256=None)
    # Imported at the first file: a run that finds landing empty skips pandera (0.7 s).
    from agrolake.datasets.recognition import recognise
    from agrolake.readers import ReaderLimits, read_sample

    path, sha256 = _spool(lake, obj, spool / claim.ingest_id)
    try:
        try:
            sample = read_sample(path, name, ReaderLimits.from_settings(settings))
            dataset = recognise(sample, name, datasets(), settings.max_new_columns)
        except FileRejected as rejection:
            return _reject(lake, claim, rejection, sha256=sha256)
        except AgrolakeError:
            raise  # no fault of the file (the workbook reader could not start): tried again
        except Exception as exc:  # untrusted bytes: a parser bug must not stop the batch
            unreadable = FileRejected(
                f"{name} could not be read: {type(exc).__name__}: {_first_line(exc)}",
                code="unreadable",
            )
            return _reject(lake, claim, unreadable, sha256=sha256)
        owner = lake.catalog.own_content(sha256, claim.ingest_id)
        if owner != claim.ingest_id:
            return _duplicate(lake, claim, owner, sha256, dataset)
        return _to_raw(lake, claim, path, sha256, dataset, sample.read_options)
    finally:
        path.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"


def _spool(lake: Lake, obj: ObjectInfo, path: Path) -> tuple[Path, str]:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for chunk in lake.store.stream("landing", obj.key):
            digest.update(chunk)
            out.write(chunk)
    return path, digest.hexdigest()


def raw_key(dataset: Dataset, ingest_id: str, name: str, when: datetime) -> str:
    return f"{dataset.source}/{dataset.id}/{when:%Y/%m/%d}/{ingest_id}-{safe_name(name)}"


def _to_raw(
    lake: Lake,
    claim: Claim,
    path: Path,
    sha256: str,
    dataset: Dataset,
    options: ReadOptions,
) -> Outcome:
    now = utcnow()
    key = raw_key(dataset, claim.ingest_id, claim.obj.key, now)
    metadata = {
        "dataset": dataset.id,
        "source": dataset.source,
        "ingest-id": claim.ingest_id,
        "ingested-at": now.isoformat(),
        "sha256": sha256,
        "original-key": claim.obj.key,
        "contract-version": str(dataset.version),
    }
    tags = {"dataset": dataset.id, "source": dataset.source, "zone": "raw"}
    # Not create-only: obstore sends a create-only put as one request holding the
    # whole file in memory, and the key holds the ingest id, so the only object it
    # can replace is an earlier attempt of this same ingest (same bytes).
    lake.store.put(
        "raw",
        key,
        path,
        metadata=metadata,
        content_type=CONTENT_TYPES.get(options.format),
        tags=tags,
    )
    _verify(lake, "raw", key, claim.obj.size)
    record = RawRecord(sha256, dataset.id, dataset.source, dataset.version, key, options)
    recorded = lake.catalog.record_raw(claim.ingest_id, lake.worker, record)
    if not recorded:
        return Outcome(claim.ingest_id, claim.obj.key, "lost", claim.obj.size, dataset.id, key)
    _delete_landing(lake, claim.obj)
    return Outcome(claim.ingest_id, claim.obj.key, RAW, claim.obj.size, dataset.id, key)


def _duplicate(lake: Lake, claim: Claim, owner: str, sha256: str, dataset: Dataset) -> Outcome:
    first = lake.catalog.get(owner)
    raw_at = first.raw_key if first else None
    reason = (
        f"same bytes as ingest {owner} ({first.original_name if first else '?'}), "
        f"already in raw at {raw_at or 'its raw key'}"
    )
    record = DuplicateRecord(sha256, dataset.id, dataset.source, owner, reason)
    recorded = lake.catalog.record_duplicate(claim.ingest_id, lake.worker, record)
    if not recorded:
        return Outcome(claim.ingest_id, claim.obj.key, "lost", claim.obj.size, dataset.id)
    _delete_landing(lake, claim.obj)
    return Outcome(
        claim.ingest_id, claim.obj.key, DUPLICATE, claim.obj.size, dataset.id, raw_at, reason,
    )  # fmt: skip


def invalid_key(ingest_id: str, name: str, when: datetime) -> str:
    return f"{INVALID_PREFIX}{when:%Y-%m-%d}/{ingest_id}-{safe_name(name)}"


def _reject(lake: Lake, claim: Claim, rejection: FileRejected, sha256: str | None) -> Outcome:
    now = utcnow()
    key = invalid_key(claim.ingest_id, claim.obj.key, now)
    report: dict[str, Any] = {
        "ingest_id": claim.ingest_id,
        "original_key": claim.obj.key,
        "original_name": claim.obj.key.rsplit("/", 1)[-1],
        "size": claim.obj.size,
        "sha256": sha256,
        "rejected_at": now.isoformat(),
        "code": rejection.code,
        "reason": rejection.reason,
        "details": rejection.details,
    }
    # The key holds the ingest id: overwriting can only replace this ingest's own copy.
    lake.store.copy("landing", claim.obj.key, "landing", key)
    lake.store.put(
        "landing",
        key + REASON_SUFFIX,
        json.dumps(report, ensure_ascii=False, indent=2, default=str).encode(),
        content_type="application/json",
    )
    _verify(lake, "landing", key, claim.obj.size)
    if sha256:
        lake.catalog.release_content(sha256, claim.ingest_id)
    dataset = rejection.details.get("dataset")
    record = InvalidRecord(sha256, rejection.reason, report, key, dataset)
    recorded = lake.catalog.record_invalid(claim.ingest_id, lake.worker, record)
    if not recorded:
        return Outcome(claim.ingest_id, claim.obj.key, "lost", claim.obj.size, key=key)
    _delete_landing(lake, claim.obj)
    return Outcome(
        claim.ingest_id, claim.obj.key, INVALID, claim.obj.size, dataset, key, rejection.reason,
    )  # fmt: skip


def _verify(lake: Lake, zone: Zone, key: str, size: int) -> None:
    written = lake.store.head(zone, key)
    if written.size != size:
        raise StorageError(
            f"copy check failed for {lake.store.describe(zone, key)}: "
            f"{written.size} bytes written, {size} expected; the landing file is kept",
            zone=zone,
            key=key,
        )


def _delete_landing(lake: Lake, obj: ObjectInfo) -> None:
    """Delete the landing object, unless someone uploaded a new version meanwhile."""
    try:
        current = lake.store.head("landing", obj.key)
    except ObjectNotFound:
        return
    # Not `version`: listings and HEAD report modification times at different precisions.
    same = (current.etag, current.size) == (obj.etag, obj.size)
    if same and (obj.etag or current.last_modified == obj.last_modified):
        lake.store.delete("landing", obj.key)


def _clean_up(lake: Lake, claim: Claim) -> Outcome:
    """Finish a landing object whose outcome was recorded but not yet cleaned up."""
    row = lake.catalog.get(claim.ingest_id)
    if row is None:  # gone meanwhile: nothing of ours to clean
        return Outcome(claim.ingest_id, claim.obj.key, claim.status, claim.obj.size)
    where = row.raw_key or row.invalid_key
    zone: Zone = "raw" if row.raw_key else "landing"
    if (where and lake.store.exists(zone, where)) or row.status == DUPLICATE:
        _delete_landing(lake, claim.obj)
    return Outcome(
        claim.ingest_id, claim.obj.key, claim.status, claim.obj.size,
        row.dataset, where, row.reason,
    )  # fmt: skip
