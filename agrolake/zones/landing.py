"""Landing → raw or invalid: exactly once, nothing lost, every rejection explained.

Landing lists the landing zone and, batch by batch, claims objects in the catalog,
reads each once (hashing on the way), reads its structure, recognises its dataset,
copies the unchanged bytes to raw (or to ``invalid/`` with a reason report), records
the outcomes and only then deletes the landing objects (``landing_batch``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agrolake.errors import AgrolakeError
from agrolake.lake import Lake
from agrolake.lake.listing import list_landing
from agrolake.lake.spool import spool as spool_folder
from agrolake.lake.storage import ObjectInfo
from agrolake.zones.landing_copies import REASON_SUFFIX, invalid_key, raw_key, safe_name

if TYPE_CHECKING:
    from agrolake.datasets.recognition import Recogniser
    from agrolake.lake.catalog.heartbeat import Heartbeat

__all__ = [
    "REASON_SUFFIX",
    "LandingSummary",
    "Outcome",
    "invalid_key",
    "pending",
    "process_landing",
    "raw_key",
    "safe_name",
]


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

    A run that finds landing empty lists it and nothing more: the catalog, the
    heartbeat and the dataset registry are opened once there is a file. An outage of
    the store or the catalog stops landing (``stopped``): the summary still holds what
    was done before it, and the files not reached keep their attempts for the next run.
    """
    started = time.perf_counter()
    summary = LandingSummary()
    tried: set[str] = set()
    recogniser = _Recognition(lake)
    seen: list[tuple[str, str]] = []
    try:
        with ExitStack() as opened:
            work: _Work | None = None
            while max_files is None or len(summary.outcomes) < max_files:
                listing = list_landing(lake.store)
                summary.unreadable = listing.unreadable
                waiting = [o for o in listing.pending if f"{o.key}\0{o.version}" not in tried]
                seen += [(o.key, o.version) for o in waiting]
                if on_listed:
                    on_listed(len(waiting))
                if not waiting:
                    break
                work = work or opened.enter_context(_Work.started(lake))
                if not _land_batches(lake, waiting, work, recogniser, summary, tried,
                                     max_files, on_outcome):  # fmt: skip
                    break
        if seen:
            from agrolake.lake.catalog import CLAIMED

            summary.waiting = lake.catalog.claimed_by_others(lake.worker, CLAIMED, seen)
    except AgrolakeError as exc:
        if not exc.transient:
            raise
        summary.stopped = exc.message
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Work:
    """What landing holds while it has files: a spool folder and the claims' heartbeat."""

    spool: Path
    heartbeat: Heartbeat

    @classmethod
    @contextmanager
    def started(cls, lake: Lake) -> Iterator[_Work]:
        # The catalog (SQLAlchemy) only now: an empty landing lists and ends.
        from agrolake.lake.catalog.heartbeat import Heartbeat

        lake.ready()
        # The claims of this host's dead processes come free at once (their files are
        # in this listing), before this worker claims anything.
        lake.catalog.expire_gone_workers()
        lease = timedelta(seconds=lake.settings.lease_seconds)
        heartbeat = Heartbeat(lake.catalog, lake.worker, lease)
        with spool_folder("landing") as spool, heartbeat.running():
            yield cls(spool, heartbeat)


def _land_batches(
    lake: Lake,
    waiting: list[ObjectInfo],
    work: _Work,
    recogniser: Callable[[], Recogniser],
    summary: LandingSummary,
    tried: set[str],
    max_files: int | None,
    on_outcome: Callable[[Outcome], None] | None,
) -> bool:
    """Claim and land the listed objects batch by batch; whether any was landed.

    An outage stops landing after the batch it hit (raised as it came)."""
    from agrolake.zones.landing_batch import land_batch

    lease = timedelta(seconds=lake.settings.lease_seconds)
    progressed = False
    for start in range(0, len(waiting), lake.settings.batch_size):
        batch = waiting[start : start + lake.settings.batch_size]
        tried.update(f"{o.key}\0{o.version}" for o in batch)
        claims = lake.catalog.claim(batch, lake.worker, lease)
        room = None if max_files is None else max(max_files - len(summary.outcomes), 0)
        taken, left = claims[:room], claims[room:] if room is not None else []
        # What this run does not reach (max_files) is given back now.
        lake.catalog.release([c.ingest_id for c in left if not c.finished], lake.worker)
        held = [c.ingest_id for c in taken if not c.finished]
        work.heartbeat.hold(held)
        try:
            result = land_batch(lake, taken, work.spool, recogniser)
        finally:
            work.heartbeat.release(held)
        summary.outcomes += result.outcomes
        progressed = progressed or bool(result.outcomes)
        if on_outcome:
            for outcome in result.outcomes:
                on_outcome(outcome)
        if result.stopped is not None:
            raise result.stopped
        if max_files is not None and len(summary.outcomes) >= max_files:
            break
    return progressed


class _Recognition:
    """The enabled datasets' recogniser, built at the first file: a run that finds landing
    empty skips the registry (and polars) altogether."""

    def __init__(self, lake: Lake) -> None:
        self._lake = lake
        self._loaded: Recogniser | None = None

    def __call__(self) -> Recogniser:
        if self._loaded is None:
            from agrolake.datasets.recognition import Recogniser
            from agrolake.datasets.registry import load_registry

            enabled = load_registry(self._lake.settings).enabled
            self._loaded = Recogniser(enabled, self._lake.settings.max_new_columns)
        return self._loaded
