"""A batch of outcomes in a few statements: content ownership, landing's and trusted's
records, each conditional on the worker still holding the claim.

A file costs no write transaction of its own: a batch of 64 takes one transaction
for its content ownership and one for its outcomes, whatever their kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from agrolake.lake.catalog.database import translated_errors
from agrolake.lake.catalog.records import (
    DuplicateRecord,
    Ingest,
    InvalidRecord,
    RawRecord,
    Status,
)
from agrolake.lake.catalog.schema import ingests, raw_contents

LandingRecord = RawRecord | DuplicateRecord | InvalidRecord


def _values(record: LandingRecord) -> dict[str, Any]:
    """The columns an outcome sets (the same keys for every record of one kind)."""
    if isinstance(record, RawRecord):
        return {
            "status": Status.RAW, "sha256": record.sha256, "dataset": record.dataset,
            "source": record.source, "contract_version": record.contract_version,
            "raw_key": record.raw_key, "details": record.read_options.as_details(),
        }  # fmt: skip
    if isinstance(record, DuplicateRecord):
        return {
            "status": Status.DUPLICATE, "sha256": record.sha256, "dataset": record.dataset,
            "source": record.source, "duplicate_of": record.duplicate_of, "reason": record.reason,
        }  # fmt: skip
    return {
        "status": Status.INVALID, "sha256": record.sha256, "reason": record.reason,
        "details": record.report, "invalid_key": record.invalid_key, "dataset": record.dataset,
    }  # fmt: skip


class Outcomes:
    """Batch records in the catalog database."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    def _insert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def own_contents(self, wanted: Sequence[tuple[str, str]]) -> dict[str, str]:
        """Make each ingest the raw owner of its bytes unless another ingest is: one
        ``INSERT … ON CONFLICT DO NOTHING`` for the batch, then who owns what.

        ``wanted`` is (sha256, ingest id) in claim order: of two ingests of the batch
        with the same bytes, the first owns them. Returns sha256 → owner.
        """
        first: dict[str, str] = {}
        for sha256, ingest_id in wanted:
            first.setdefault(sha256, ingest_id)
        if not first:
            return {}
        now = datetime.now(UTC)
        rows = [{"sha256": s, "ingest_id": i, "created_at": now} for s, i in first.items()]
        with translated_errors(self.url, "content ownership"), self.engine.begin() as conn:
            conn.execute(
                self._insert(raw_contents).on_conflict_do_nothing(index_elements=["sha256"]),
                rows,
            )
            owners = conn.execute(
                select(raw_contents.c.sha256, raw_contents.c.ingest_id).where(
                    raw_contents.c.sha256.in_(list(first))
                )
            ).all()
        return {sha256: owner for sha256, owner in owners}

    def release_contents(self, owned: Sequence[tuple[str, str]]) -> None:
        """Give up ownership of bytes that never reached raw: (sha256, ingest id) pairs."""
        if owned:
            with translated_errors(self.url, "content release"), self.engine.begin() as conn:
                _release(conn, owned)

    def record_landed(self, worker: str, records: Sequence[tuple[str, LandingRecord]]) -> set[str]:
        """Landing's outcomes, in one transaction: each set only where the worker still holds
        the claim (a taken-over claim is not overwritten). The ingest ids recorded.

        A rejected file's bytes are released in the same transaction: rejected bytes own
        nothing, so a fixed declaration later accepts them.
        """
        if not records:
            return set()
        now = datetime.now(UTC)
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            held = _held(conn, [i for i, _ in records], worker, Status.CLAIMED)
            kept = [(i, r) for i, r in records if i in held]
            for kind in (RawRecord, DuplicateRecord, InvalidRecord):
                rows = [
                    {"b_id": i, "updated_at": now, **_values(r)}
                    for i, r in kept
                    if isinstance(r, kind)
                ]
                if rows:
                    columns = [c for c in rows[0] if c != "b_id"]
                    conn.execute(
                        update(ingests)
                        .where(ingests.c.ingest_id == bindparam("b_id"))
                        .values({**{c: bindparam(c) for c in columns}, "lease_until": None}),
                        rows,
                    )
            _release(
                conn,
                [(r.sha256, i) for i, r in kept if isinstance(r, InvalidRecord) and r.sha256],
            )
        return held

    def record_trusted(
        self, worker: str, written: Sequence[tuple[Ingest, dict[str, dict[str, Any]]]]
    ) -> set[str]:
        """Trusted wrote these ingests' rows (per table: rows, quarantined rows, quality), in
        one transaction; the ingest ids recorded (those the worker still held)."""
        if not written:
            return set()
        now = datetime.now(UTC)
        with translated_errors(self.url, "status update"), self.engine.begin() as conn:
            held = _held(conn, [i.ingest_id for i, _ in written], worker, Status.RAW)
            rows = [
                {
                    "b_id": ingest.ingest_id,
                    "details": {**ingest.details, "trusted": stats},
                    "status": Status.TRUSTED,
                    "updated_at": now,
                }
                for ingest, stats in written
                if ingest.ingest_id in held
            ]
            if rows:
                conn.execute(
                    update(ingests)
                    .where(ingests.c.ingest_id == bindparam("b_id"))
                    .values(
                        details=bindparam("details"),
                        status=bindparam("status"),
                        updated_at=bindparam("updated_at"),
                        lease_until=None,
                    ),
                    rows,
                )
        return held


def _held(conn: Connection, ingest_ids: list[str], worker: str, status: Status) -> set[str]:
    """The ids still claimed by ``worker`` at ``status``, locked for this transaction (SQLite
    holds its write lock from BEGIN IMMEDIATE; PostgreSQL locks the rows)."""
    query = (
        select(ingests.c.ingest_id)
        .where(ingests.c.ingest_id.in_(ingest_ids))
        .where(ingests.c.claimed_by == worker)
        .where(ingests.c.status == status)
        .with_for_update()
    )
    return set(conn.execute(query).scalars())


def _release(conn: Connection, owned: Sequence[tuple[str, str]]) -> None:
    if owned:
        pair = tuple_(raw_contents.c.sha256, raw_contents.c.ingest_id)
        conn.execute(raw_contents.delete().where(pair.in_(list(owned))))
