"""The catalog: every landing object's journey, claimed atomically by one worker."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, case, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from agrolake.lake.catalog.database import create_catalog_engine, migrate, translated_errors
from agrolake.lake.catalog.lineage import Lineage
from agrolake.lake.catalog.records import (
    FINISHED,
    DuplicateRecord,
    Ingest,
    InvalidRecord,
    RawRecord,
    Status,
)
from agrolake.lake.catalog.schema import ingests, raw_contents
from agrolake.lake.catalog.training_claims import TrainingClaims
from agrolake.lake.catalog.workers import local_and_gone
from agrolake.lake.storage import ObjectInfo

CLAIMED, RAW, INVALID = Status.CLAIMED, Status.RAW, Status.INVALID
DUPLICATE, REPLAYED, TRUSTED = Status.DUPLICATE, Status.REPLAYED, Status.TRUSTED
FAILED = Status.FAILED
CLEAN_UP_GRACE = timedelta(seconds=60)
REPLAYED_SUFFIX = "#replayed"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_ingest_id(now: datetime | None = None) -> str:
    """Sortable by claim time, to the microsecond: ``20261126T040214123456Z-1a2b3c4d``.

    The order matters: on a business key the latest ingest wins.
    """
    return f"{(now or utcnow()):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


#: Ids bound per query: SQLite binds at most 32,766 parameters, PostgreSQL 65,535.
_IDS_PER_QUERY = 1000


@dataclass(frozen=True)
class Claim:
    """A landing object this worker may process now.

    ``finished`` claims were completed by someone whose delete of the landing
    object did not happen (a crash): only the clean-up is left.
    """

    ingest_id: str
    obj: ObjectInfo
    attempts: int
    status: Status

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class Catalog:
    """Catalog operations over one database (SQLite or PostgreSQL)."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_catalog_engine(url)

    def migrate(self) -> bool:
        """Bring the tables to the newest revision; whether anything was migrated."""
        with translated_errors(self.url, "migration"):
            return migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def _insert(self) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(ingests)

    # -- claims ------------------------------------------------------------------

    def claim(self, objects: Sequence[ObjectInfo], worker: str, lease: timedelta) -> list[Claim]:
        """Claim the given landing objects for ``worker`` in one transaction.

        Returns those now owned by the worker: new ones, ones whose previous
        claim expired (a dead worker's; same ingest id, so its partial work is
        found again), and finished ones still waiting for their clean-up.
        """
        if not objects:
            return []
        now = utcnow()
        by_identity = {(o.key, o.version): o for o in objects}
        rows = [
            {
                # One microsecond apart: ids keep the listing order within a batch.
                "ingest_id": new_ingest_id(now + timedelta(microseconds=i)),
                "landing_key": o.key,
                "landing_version": o.version,
                "original_name": o.key.rsplit("/", 1)[-1],
                "size": o.size,
                "status": CLAIMED,
                "claimed_by": worker,
                "lease_until": now + lease,
                "attempts": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i, o in enumerate(by_identity.values())
        ]
        identity = tuple_(ingests.c.landing_key, ingests.c.landing_version)
        returned = (
            ingests.c.ingest_id,
            ingests.c.landing_key,
            ingests.c.landing_version,
            ingests.c.attempts,
            ingests.c.status,
        )
        with translated_errors(self.url, "claim"), self.engine.begin() as conn:
            new = conn.execute(
                self._insert()
                .values(rows)
                .on_conflict_do_nothing(index_elements=["landing_key", "landing_version"])
                .returning(*returned)
            ).all()
            fresh = [row.ingest_id for row in new]
            taken = conn.execute(
                update(ingests)
                .where(identity.in_(list(by_identity)))
                .where(ingests.c.ingest_id.not_in(fresh))
                .where(ingests.c.status == CLAIMED)
                .where(ingests.c.lease_until < now)
                .values(
                    claimed_by=worker,
                    lease_until=now + lease,
                    attempts=ingests.c.attempts + 1,
                    updated_at=now,
                )
                .returning(*returned)
            ).all()
            # An ingest past landing whose landing object is still listed: either its
            # worker is deleting it right now, or it crashed before it could. Only the
            # second is ours to clean up: wait one grace period, unless that worker's
            # process is known to be gone.
            finished = conn.execute(
                select(*returned, ingests.c.claimed_by, ingests.c.updated_at)
                .where(identity.in_(list(by_identity)))
                .where(ingests.c.status.in_(FINISHED))
            ).all()
            settled = now - min(lease, CLEAN_UP_GRACE)
            leftover = [
                row
                for row in finished
                if row.updated_at < settled or local_and_gone(row.claimed_by or "")
            ]
        return [
            Claim(
                row.ingest_id,
                by_identity[(row.landing_key, row.landing_version)],
                row.attempts,
                Status(row.status),
            )
            for row in [*new, *taken, *leftover]
        ]

    def renew(self, ingest_ids: Sequence[str], worker: str, lease: timedelta) -> set[str]:
        """Extend the worker's leases (landing or a later stage); the ids it still holds."""
        if not ingest_ids:
            return set()
        now = utcnow()
        with translated_errors(self.url, "lease renewal"), self.engine.begin() as conn:
            rows = conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id.in_(list(ingest_ids)))
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.lease_until.is_not(None))
                .values(lease_until=now + lease)
                .returning(ingests.c.ingest_id)
            ).all()
        return {row.ingest_id for row in rows}

    def expire_gone_workers(self) -> list[str]:
        """End the leases of claims whose process on this host is gone (a crash), so
        they are taken over now rather than when their lease runs out."""
        now = utcnow()
        with translated_errors(self.url, "claim"), self.engine.begin() as conn:
            holders = conn.execute(
                select(ingests.c.claimed_by)
                .where(ingests.c.lease_until > now)
                .where(ingests.c.claimed_by.is_not(None))
                .distinct()
            ).scalars()
            gone = [w for w in holders if local_and_gone(w)]
            if gone:
                conn.execute(
                    update(ingests)
                    .where(ingests.c.claimed_by.in_(gone))
                    .where(ingests.c.lease_until > now)
                    .values(lease_until=now - timedelta(microseconds=1))
                )
        return gone

    def claimed_by_others(
        self, worker: str, status: Status, identities: Sequence[tuple[str, str]] = ()
    ) -> dict[str, int]:
        """Live claims other workers hold at ``status`` (of these landing objects, for
        landing): worker → how many, so a run that waits can say for whom."""
        query = (
            select(ingests.c.claimed_by, func.count())
            .where(ingests.c.status == status)
            .where(ingests.c.lease_until > utcnow())
            .where(ingests.c.claimed_by != worker)
            .group_by(ingests.c.claimed_by)
        )
        if identities:
            identity = tuple_(ingests.c.landing_key, ingests.c.landing_version)
            query = query.where(identity.in_(list(identities)))
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            return {str(holder): n for holder, n in conn.execute(query)}

    def own_content(self, sha256: str, ingest_id: str) -> str:
        """Make ``ingest_id`` the raw owner of these bytes unless another ingest is.

        Returns the owner's ingest id: this one, or the earlier one whose bytes
        are (or are being put) in raw, which makes this ingest a duplicate.
        """
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        with translated_errors(self.url, "content ownership"), self.engine.begin() as conn:
            conn.execute(
                dialect.insert(raw_contents)
                .values(sha256=sha256, ingest_id=ingest_id, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
            owner: str = conn.execute(
                select(raw_contents.c.ingest_id).where(raw_contents.c.sha256 == sha256)
            ).scalar_one()
        return owner

    @cached_property
    def lineage(self) -> Lineage:
        return Lineage(self.url, self.engine)

    @cached_property
    def training(self) -> TrainingClaims:
        return TrainingClaims(self.url, self.engine)

    def release_content(self, sha256: str, ingest_id: str) -> None:
        """Give up ownership of bytes that never reached raw."""
        with translated_errors(self.url, "content release"), self.engine.begin() as conn:
            conn.execute(
                raw_contents.delete()
                .where(raw_contents.c.sha256 == sha256)
                .where(raw_contents.c.ingest_id == ingest_id)
            )

    def claim_stage(
        self,
        status: Status,
        worker: str,
        lease: timedelta,
        ingest_ids: Sequence[str] | None = None,
        limit: int | None = None,
        datasets: Sequence[str] | None = None,
    ) -> list[Ingest]:
        """Claim ingests in ``status`` for the next zone (all, or the given ones; of the
        given ``datasets`` only), oldest first.

        The status stays; the claim is the lease, as for landing: a dead worker's
        ingests are taken over when it expires.
        """
        now = utcnow()
        free = (ingests.c.lease_until.is_(None)) | (ingests.c.lease_until < now)
        with translated_errors(self.url, "claim"), self.engine.begin() as conn:
            query = select(ingests.c.ingest_id).where(ingests.c.status == status).where(free)
            if ingest_ids is not None:
                query = query.where(ingests.c.ingest_id.in_(list(ingest_ids)))
            if datasets is not None:
                query = query.where(ingests.c.dataset.in_(list(datasets)))
            # SKIP LOCKED (PostgreSQL; SQLite serialises writers anyway): a worker that
            # loses the race for the oldest ingest takes the next, instead of none.
            query = (
                query.order_by(ingests.c.ingest_id).limit(limit).with_for_update(skip_locked=True)
            )
            candidates = list(conn.execute(query).scalars())
            if not candidates:
                return []
            conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id.in_(candidates))
                .where(ingests.c.status == status)
                .where(free)
                .values(claimed_by=worker, lease_until=now + lease, updated_at=now)
            )
            rows = conn.execute(
                select(ingests)
                .where(ingests.c.ingest_id.in_(candidates))
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.status == status)
                .order_by(ingests.c.ingest_id)
            ).all()
        return [Ingest.from_row(r) for r in rows]

    def release(self, ingest_ids: Sequence[str], worker: str) -> None:
        """Give back claims the worker will not work on now: free at once, and a landing
        claim's attempt not counted (it was not tried)."""
        if not ingest_ids:
            return
        now = utcnow()
        untried = case(
            (ingests.c.status == CLAIMED, ingests.c.attempts - 1), else_=ingests.c.attempts
        )
        with translated_errors(self.url, "release"), self.engine.begin() as conn:
            conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id.in_(list(ingest_ids)))
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.lease_until.is_not(None))
                .values(lease_until=now - timedelta(microseconds=1), attempts=untried)
            )

    def _record(
        self, ingest_id: str, worker: str, status: Status, from_status: Status, **values: Any
    ) -> bool:
        """Set the outcome if the worker still holds the claim; whether it did."""
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            result = conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id == ingest_id)
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.status == from_status)
                .values(status=status, lease_until=None, updated_at=utcnow(), **values)
            )
        return result.rowcount == 1

    def record_raw(self, ingest_id: str, worker: str, record: RawRecord) -> bool:
        """Landing copied the file to raw; whether the worker still held the claim."""
        return self._record(
            ingest_id, worker, RAW, CLAIMED, sha256=record.sha256, dataset=record.dataset,
            source=record.source, contract_version=record.contract_version,
            raw_key=record.raw_key, details=record.read_options.as_details(),
        )  # fmt: skip

    def record_duplicate(self, ingest_id: str, worker: str, record: DuplicateRecord) -> bool:
        """Landing found the bytes already in raw under ``record.duplicate_of``."""
        return self._record(
            ingest_id, worker, DUPLICATE, CLAIMED, sha256=record.sha256, dataset=record.dataset,
            source=record.source, duplicate_of=record.duplicate_of, reason=record.reason,
        )  # fmt: skip

    def record_invalid(self, ingest_id: str, worker: str, record: InvalidRecord) -> bool:
        """Landing rejected the file into ``record.invalid_key`` with its report."""
        return self._record(
            ingest_id, worker, INVALID, CLAIMED, sha256=record.sha256, reason=record.reason,
            details=record.report, invalid_key=record.invalid_key, dataset=record.dataset,
        )  # fmt: skip

    def record_trusted(self, ingest: Ingest, worker: str, stats: dict[str, dict[str, Any]]) -> bool:
        """Trusted wrote the ingest's rows: per table, rows, quarantined rows and quality."""
        details = {**ingest.details, "trusted": stats}
        return self._record(ingest.ingest_id, worker, TRUSTED, RAW, details=details)

    def record_failure(
        self,
        ingest_id: str,
        worker: str,
        reason: str,
        *,
        stage: Status = CLAIMED,
        retry_after: timedelta = timedelta(0),
        give_up_at: int | None = None,
    ) -> Status:
        """Record a failed attempt at ``stage`` and free the claim so a later pass tries
        again (not before ``retry_after``); at ``give_up_at`` failures the ingest is
        given up instead (status ``failed``, the reason kept). Returns its status."""
        now = utcnow()
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            failures = conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id == ingest_id)
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.status == stage)
                .values(
                    reason=reason,
                    lease_until=now + retry_after,
                    updated_at=now,
                    failures=ingests.c.failures + 1,
                )
                .returning(ingests.c.failures)
            ).scalar()
            if failures is not None and give_up_at is not None and failures >= give_up_at:
                conn.execute(
                    update(ingests)
                    .where(ingests.c.ingest_id == ingest_id)
                    .values(status=FAILED, lease_until=None)
                )
                return FAILED
        return stage

    def retry_failed(self, ingest_ids: Sequence[str] | None = None) -> list[str]:
        """Give failed ingests (all, or these) back to trusted, their failures reset."""
        query = update(ingests).where(ingests.c.status == FAILED)
        if ingest_ids is not None:
            query = query.where(ingests.c.ingest_id.in_(list(ingest_ids)))
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            rows = conn.execute(
                query.values(
                    status=RAW, failures=0, lease_until=None, updated_at=utcnow()
                ).returning(ingests.c.ingest_id)
            ).scalars()
            return sorted(rows)

    def forget(self, ingest_id: str, worker: str) -> None:
        """Drop the claim of a landing object that vanished before it was read (deleted
        meanwhile): nothing of it was processed, so nothing is kept."""
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            conn.execute(
                delete(ingests)
                .where(ingests.c.ingest_id == ingest_id)
                .where(ingests.c.claimed_by == worker)
                .where(ingests.c.status == CLAIMED)
            )

    def mark_replayed(self, ingest: Ingest, *, replayed: bool) -> None:
        """A rejected file put back in landing (``replayed``), or not after all.

        Its landing identity is freed (the copy may have the same ETag and second),
        so the file comes back as a new ingest; undone, the identity is restored.
        """
        version = ingest.landing_version.removesuffix(REPLAYED_SUFFIX)
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id == ingest.ingest_id)
                .values(
                    status=REPLAYED if replayed else INVALID,
                    landing_version=version + REPLAYED_SUFFIX if replayed else version,
                    updated_at=utcnow(),
                )
            )

    def mark(self, ingest_id: str, status: Status) -> None:
        """Change an ingest's status (a replayed file; tests that reprocess)."""
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            conn.execute(
                update(ingests)
                .where(ingests.c.ingest_id == ingest_id)
                .values(status=status, updated_at=utcnow())
            )

    # -- queries -----------------------------------------------------------------

    def get(self, ingest_id: str) -> Ingest | None:
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            row = conn.execute(select(ingests).where(ingests.c.ingest_id == ingest_id)).first()
        return Ingest.from_row(row) if row else None

    def find(
        self,
        *,
        status: Status | None = None,
        dataset: str | None = None,
        ingest_id: str | None = None,
        landing_key: str | None = None,
        raw_key: str | None = None,
        original_name: str | None = None,
    ) -> list[Ingest]:
        """Ingests matching every given value, oldest first."""
        wanted = {
            ingests.c.status: status,
            ingests.c.dataset: dataset,
            ingests.c.ingest_id: ingest_id,
            ingests.c.landing_key: landing_key,
            ingests.c.raw_key: raw_key,
            ingests.c.original_name: original_name,
        }
        query = select(ingests).order_by(ingests.c.created_at, ingests.c.ingest_id)
        for column, value in wanted.items():
            if value is not None:
                query = query.where(column == value)
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            return [Ingest.from_row(row) for row in conn.execute(query)]

    def newest(self, count: int) -> list[Ingest]:
        """The ``count`` ingests claimed last (ingest ids sort by claim time), newest first."""
        query = select(ingests).order_by(ingests.c.ingest_id.desc()).limit(count)
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            return [Ingest.from_row(row) for row in conn.execute(query)]

    def get_many(self, ingest_ids: Iterable[str]) -> list[Ingest]:
        """The ingests among ``ingest_ids`` that the catalog holds, in id order."""
        wanted = sorted(set(ingest_ids))
        found: list[Ingest] = []
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start : start + _IDS_PER_QUERY]
                query = select(ingests).where(ingests.c.ingest_id.in_(chunk))
                found += [Ingest.from_row(row) for row in conn.execute(query)]
        return sorted(found, key=lambda ingest: ingest.ingest_id)

    def original_names(self, ingest_ids: Iterable[str]) -> dict[str, str]:
        """Ingest id → the file name it was uploaded as (ids it lacks are left out),
        reading only those two columns: a page of a long table names thousands."""
        wanted = sorted(set(ingest_ids))
        found: dict[str, str] = {}
        with translated_errors(self.url, "lookup"), self.engine.connect() as conn:
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start : start + _IDS_PER_QUERY]
                query = select(ingests.c.ingest_id, ingests.c.original_name).where(
                    ingests.c.ingest_id.in_(chunk)
                )
                found.update({row.ingest_id: row.original_name for row in conn.execute(query)})
        return found

    def count_by_dataset(self, statuses: Sequence[str]) -> dict[str, int]:
        """Ingests per dataset among the given statuses."""
        query = (
            select(ingests.c.dataset, func.count())
            .where(ingests.c.status.in_(list(statuses)))
            .group_by(ingests.c.dataset)
        )
        with translated_errors(self.url, "count"), self.engine.connect() as conn:
            return {dataset: n for dataset, n in conn.execute(query)}

    def stage_counts(self) -> dict[str, dict[str, int]]:
        """Per stage: files or ingests claimed by a live worker now, waiting for one (a
        lease run out, a retry pending), failed for good; for ``agrolake status``."""
        now = utcnow()
        live = case((ingests.c.lease_until > now, 1), else_=0)
        query = (
            select(ingests.c.status, live.label("live"), func.count())
            .where(ingests.c.status.in_([CLAIMED, RAW, FAILED]))
            .group_by(ingests.c.status, live)
        )
        with translated_errors(self.url, "count"), self.engine.connect() as conn:
            counts = {(Status(status), bool(alive)): n for status, alive, n in conn.execute(query)}
        return {
            "landing": {
                "claimed": counts.get((CLAIMED, True), 0),
                "waiting": counts.get((CLAIMED, False), 0),
            },
            "trusted": {
                "claimed": counts.get((RAW, True), 0),
                "waiting": counts.get((RAW, False), 0),
                "failed": counts.get((FAILED, False), 0) + counts.get((FAILED, True), 0),
            },
        }

    def count_by_status(self) -> dict[str, int]:
        query = select(ingests.c.status, func.count()).group_by(ingests.c.status)
        with translated_errors(self.url, "count"), self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}
