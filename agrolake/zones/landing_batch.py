"""A batch of claimed landing objects, landed as a batch.

The store requests of the batch (reads, puts to raw, copies to ``invalid/``, deletes)
overlap on a few threads; recognition runs file by file on the bytes already read;
the catalog sees two transactions for the whole batch (content ownership, then every
outcome) instead of two per file. The order of a file's steps is as before, so a
crash anywhere leaves what one-by-one landing would: bytes owned but not yet in raw,
bytes in raw not yet recorded (the same ingest id finds them again), or recorded
files still in landing (cleaned up by the next run).

Whatever fails on one file stays on that file: its reason is recorded and it is tried
again later, up to ``AGROLAKE_MAX_ATTEMPTS`` times. An outage (store or catalog out)
stops landing after what the batch could record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agrolake.errors import AgrolakeError, FileRejected, ObjectNotFound
from agrolake.lake import Lake
from agrolake.lake.catalog import (
    DUPLICATE,
    INVALID,
    RAW,
    Claim,
    DuplicateRecord,
    InvalidRecord,
    RawRecord,
)
from agrolake.lake.catalog.outcomes import LandingRecord
from agrolake.lake.overlap import overlapped
from agrolake.lake.read_options import ReadOptions
from agrolake.lake.settings import Zone
from agrolake.zones.landing import Outcome
from agrolake.zones.landing_copies import Fetched, delete_landing, fetch, put_raw, reject

if TYPE_CHECKING:
    from agrolake.datasets.model import Dataset
    from agrolake.datasets.recognition import Recogniser

#: A file that failed on storage or catalog trouble waits this long before the next
#: attempt, so a flow that goes round again at once does not use up its attempts.
RETRY_AFTER = timedelta(seconds=30)


@dataclass
class _File:
    """One claimed object on its way through the batch."""

    claim: Claim
    fetched: Fetched | None = None
    dataset: Dataset | None = None
    options: ReadOptions | None = None
    rejection: FileRejected | None = None
    owner: str | None = None
    where: str | None = None  # raw key or invalid key, once written
    record: LandingRecord | None = None
    outcome: Outcome | None = None  # settled: recorded, or vanished, retry, …
    given_back: bool = False  # an outage hit it: untried, free for the next run

    @property
    def ingest_id(self) -> str:
        return self.claim.ingest_id


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    stopped: AgrolakeError | None = None  # an outage: landing stops after this batch


def land_batch(
    lake: Lake, claims: Sequence[Claim], spool: Path, recogniser: Callable[[], Recogniser]
) -> BatchResult:
    """Take claimed landing objects to raw, invalid or duplicate; outcomes in claim order.

    ``recogniser()`` gives the datasets' recogniser (built when first needed)."""
    batch = _Batch(lake, spool, recogniser)
    files = [_File(c) for c in claims]
    finished = [f for f in files if f.claim.finished]
    todo = [f for f in files if not f.claim.finished]
    try:
        batch.clean_up(finished)
        batch.give_up(todo)
        batch.fetch(todo)
        batch.recognise(todo)
        batch.own(todo)
        batch.write(todo)
        batch.record(todo)
        batch.delete(todo)
    except AgrolakeError as exc:
        # An outage, a missing bucket or a refused key: not the files' fault. Every file
        # not settled is given back; an outage ends the run with its summary, the others
        # stop it with their one-line error.
        batch.stop(exc, todo)
        if not exc.transient:
            raise
    for f in files:
        if f.fetched is not None:
            f.fetched.path.unlink(missing_ok=True)
    return BatchResult([f.outcome for f in files if f.outcome is not None], batch.stopped)


class _Batch:
    """The steps of one batch; each leaves a file settled (``outcome``) or carries it on."""

    def __init__(self, lake: Lake, spool: Path, recogniser: Callable[[], Recogniser]) -> None:
        self.lake = lake
        self.spool = spool
        self.recogniser = recogniser
        self.threads = lake.store.concurrency
        self.stopped: AgrolakeError | None = None

    def _open(self, files: list[_File]) -> list[_File]:
        return [f for f in files if f.outcome is None and not f.given_back]

    def clean_up(self, finished: list[_File]) -> None:
        """Files recorded by a worker that died before deleting them from landing."""
        rows = self.lake.catalog.by_id([f.ingest_id for f in finished])

        def clean(f: _File) -> Outcome:
            claim, row = f.claim, rows.get(f.ingest_id)
            if row is None:  # gone meanwhile: nothing of ours to clean
                return Outcome(claim.ingest_id, claim.obj.key, claim.status, claim.obj.size)
            where = row.raw_key or row.invalid_key
            zone: Zone = "raw" if row.raw_key else "landing"
            if (where and self.lake.store.exists(zone, where)) or row.status == DUPLICATE:
                delete_landing(self.lake, claim.obj)
            return Outcome(
                claim.ingest_id, claim.obj.key, claim.status, claim.obj.size,
                row.dataset, where, row.reason,
            )  # fmt: skip

        for f, result in zip(finished, overlapped(clean, finished, self.threads), strict=True):
            if isinstance(result, Exception):
                self._failed(f, result)
            else:
                f.outcome = result

    def give_up(self, files: list[_File]) -> None:
        """Files over their attempts, rejected as ``processing_failed``; files over the size
        limit, rejected unread."""
        settings = self.lake.settings
        spent = [f for f in files if f.claim.attempts > settings.max_attempts]
        known = self.lake.catalog.by_id([f.ingest_id for f in spent])
        for f in spent:
            previous = (row.reason if (row := known.get(f.ingest_id)) else None) or "unknown error"
            f.rejection = FileRejected(
                f"processing failed {settings.max_attempts} times; last error: {previous}",
                code="processing_failed",
            )
        for f in files:
            obj = f.claim.obj
            if f.rejection is None and obj.size > settings.max_file_bytes:
                name = obj.key.rsplit("/", 1)[-1]
                f.rejection = FileRejected(
                    f"{name} is {obj.size / 1024**2:.1f} MB, over the limit of "
                    f"{settings.max_file_mb:g} MB (AGROLAKE_MAX_FILE_MB); it was not read",
                    code="too_large",
                    size=obj.size,
                    limit_mb=settings.max_file_mb,
                )

    def fetch(self, files: list[_File]) -> None:
        """Read every object to be recognised once, into the spool, hashing on the way."""
        wanted = [f for f in self._open(files) if f.rejection is None]

        def read(f: _File) -> Fetched:
            return fetch(self.lake, f.claim.obj, self.spool / f.ingest_id)

        for f, result in zip(wanted, overlapped(read, wanted, self.threads), strict=True):
            if isinstance(result, Exception):
                self._failed(f, result)
            else:
                f.fetched = result

    def recognise(self, files: list[_File]) -> None:
        """Each file's structure and dataset (CPU: one file after the other)."""
        # Imported at the first file: a run that finds landing empty skips polars.
        from agrolake.readers import ReaderLimits, read_sample

        limits = ReaderLimits.from_settings(self.lake.settings)
        for f in self._open(files):
            if f.fetched is None:
                continue
            name = f.claim.obj.key.rsplit("/", 1)[-1]
            try:
                sample = read_sample(f.fetched.path, name, limits)
                f.dataset = self.recogniser()(sample, name)
                f.options = sample.read_options
            except FileRejected as rejection:
                f.rejection = rejection
            except AgrolakeError as exc:  # not the file's fault (the workbook reader could
                self._failed(f, exc)  # not start): tried again
            except Exception as exc:  # untrusted bytes: a parser bug must not stop the batch
                f.rejection = FileRejected(
                    f"{name} could not be read: {type(exc).__name__}: {first_line(exc)}",
                    code="unreadable",
                )

    def own(self, files: list[_File]) -> None:
        """Who owns each recognised file's bytes in raw: one statement for the batch."""
        valid = [f for f in self._open(files) if f.dataset is not None and f.fetched]
        wanted = [(f.fetched.sha256, f.ingest_id) for f in valid if f.fetched]
        owners = self.lake.catalog.outcomes.own_contents(wanted)
        for f in valid:
            assert f.fetched is not None
            f.owner = owners[f.fetched.sha256]

    def write(self, files: list[_File]) -> None:
        """Bytes to raw for the files owning them, rejected files to ``invalid/``."""
        writing = [
            f for f in self._open(files) if f.rejection is not None or f.owner == f.ingest_id
        ]

        def copy(f: _File) -> str:
            obj, sha256 = f.claim.obj, f.fetched.sha256 if f.fetched else None
            if f.rejection is not None:
                key, report = reject(self.lake, obj, f.ingest_id, f.rejection, sha256)
                dataset = f.rejection.details.get("dataset")
                f.record = InvalidRecord(sha256, f.rejection.reason, report, key, dataset)
                return key
            assert f.fetched and f.dataset and f.options
            key = put_raw(self.lake, obj, f.ingest_id, f.fetched, f.dataset, f.options)
            dataset = f.dataset
            f.record = RawRecord(
                f.fetched.sha256, dataset.id, dataset.source, dataset.version, key, f.options
            )
            return key

        for f, result in zip(writing, overlapped(copy, writing, self.threads), strict=True):
            if isinstance(result, Exception):
                f.record = None
                self._failed(f, result)
            else:
                f.where = result

    def record(self, files: list[_File]) -> None:
        """Every outcome of the batch in one transaction, duplicates with their owner."""
        open_files = self._open(files)
        duplicates = [f for f in open_files if f.record is None and f.owner is not None]
        here = {f.ingest_id: f for f in files}
        elsewhere = self.lake.catalog.by_id(
            sorted({str(f.owner) for f in duplicates if f.owner not in here})
        )
        for f in duplicates:
            assert f.fetched and f.dataset and f.owner
            first = here.get(f.owner)
            if first is not None:
                name: str | None = first.claim.obj.key.rsplit("/", 1)[-1]
                raw_at = first.where if isinstance(first.record, RawRecord) else None
            else:
                row = elsewhere.get(f.owner)
                name, raw_at = (row.original_name, row.raw_key) if row else (None, None)
            reason = (
                f"same bytes as ingest {f.owner} ({name or '?'}), "
                f"already in raw at {raw_at or 'its raw key'}"
            )
            f.where = raw_at
            f.record = DuplicateRecord(
                f.fetched.sha256, f.dataset.id, f.dataset.source, f.owner, reason
            )
        records = [(f.ingest_id, f.record) for f in open_files if f.record is not None]
        held = self.lake.catalog.outcomes.record_landed(self.lake.worker, records)
        for f in open_files:
            if f.record is None:
                continue
            obj = f.claim.obj
            if f.ingest_id not in held:  # another worker took the claim over meanwhile
                f.outcome = Outcome(f.ingest_id, obj.key, "lost", obj.size, key=f.where)
                continue
            status, of_dataset, why = _described(f.record)
            f.outcome = Outcome(f.ingest_id, obj.key, status, obj.size, of_dataset, f.where, why)

    def delete(self, files: list[_File]) -> None:
        """Only now, the landing objects of the recorded files (if still the same version)."""
        recorded = (RAW, INVALID, DUPLICATE)
        done = [f for f in files if f.outcome is not None and f.outcome.status in recorded]
        results = overlapped(lambda f: delete_landing(self.lake, f.claim.obj), done, self.threads)
        for result in results:
            # Recorded already: the next run deletes what is left (a finished claim).
            if not isinstance(result, AgrolakeError) or self.stopped is not None:
                continue
            if result.transient or result.stops_run:
                self.stopped = result

    def stop(self, exc: AgrolakeError, files: list[_File]) -> None:
        """An outage outside one file's steps: every file not settled is given back."""
        self.stopped = self.stopped or exc
        left = [f.ingest_id for f in self._open(files)]
        with suppress(AgrolakeError):
            self.lake.catalog.release(left, self.lake.worker)

    def _failed(self, f: _File, exc: Exception) -> None:
        """One file's failure: vanished, given back (an outage) or tried again later."""
        lake, claim = self.lake, f.claim
        obj = claim.obj
        if isinstance(exc, ObjectNotFound) and f.fetched is None:
            # Deleted (or replaced) between the listing and the read: nothing to keep.
            lake.catalog.forget(claim.ingest_id, lake.worker)
            f.outcome = Outcome(claim.ingest_id, obj.key, "vanished", reason="no longer in landing")
            return
        if isinstance(exc, AgrolakeError) and (exc.transient or exc.stops_run):
            # An outage, a missing bucket or a refused key, not this file's fault: it is
            # untried, free at once, and the run stops.
            with suppress(AgrolakeError):
                lake.catalog.record_failure(claim.ingest_id, lake.worker, exc.message)
                lake.catalog.release([claim.ingest_id], lake.worker)
            f.given_back = True
            if not exc.transient:
                raise exc
            self.stopped = self.stopped or exc
            return
        if isinstance(exc, AgrolakeError):
            reason = exc.message
        else:  # a bug must not stop the batch: it is this file's reason
            reason = f"unexpected {type(exc).__name__}: {first_line(exc)}"
        with suppress(AgrolakeError):  # the catalog itself may be what failed
            lake.catalog.record_failure(
                claim.ingest_id, lake.worker, reason, retry_after=RETRY_AFTER
            )
        f.outcome = Outcome(claim.ingest_id, obj.key, "retry", obj.size, reason=reason)


def _described(record: LandingRecord) -> tuple[str, str | None, str | None]:
    """Status, dataset and reason of a recorded outcome, for its summary."""
    if isinstance(record, RawRecord):
        return RAW, record.dataset, None
    if isinstance(record, DuplicateRecord):
        return DUPLICATE, record.dataset, record.reason
    dataset: str | None = record.dataset
    return INVALID, dataset, record.reason


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"
