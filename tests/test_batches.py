"""Landing and trusted take small files in batches: the same outcome as one at a time.

Random sets of files (good ones, files with bad values, new columns, rows whose keys
other files repeat, rejected files, the same bytes twice) go through two lakes: one
lands and cleans them one at a time (a batch of one), the other in batches. Both
must end with the same raw objects, catalog records, table rows and quarantine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from agrolake.lake import Lake
from agrolake.lake.listing import Listing
from agrolake.lake.settings import Settings
from agrolake.lake.tables import QUARANTINE, TableRef
from agrolake.samples import write_activities, write_wine_quality
from agrolake.zones import landing as landing_zone
from agrolake.zones import trusted as trusted_zone

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TABLES = [TableRef("trusted", "lab.wine_quality"), TableRef("trusted", "erp.activities")]
KINDS = ("wine", "wine_bad", "wine_new_column", "activities", "activities_bad", "rejected")


def file_bytes(kind: str, seed: int, folder: Path) -> bytes:
    """A small file of the given kind; the seed varies its rows (activities share keys)."""
    path = folder / f"{kind}-{seed}.csv"
    if kind.startswith("wine"):
        lines = write_wine_quality(path, rows=1 + seed % 4, seed=seed).read_text().splitlines()
        if kind == "wine_bad":
            lines[1] = ",".join(["n/a", *lines[1].split(",")[1:]])  # quarantined
        if kind == "wine_new_column":
            lines = [lines[0] + ",Lote"] + [f"{line},L{seed}" for line in lines[1:]]
        return ("\n".join(lines) + "\n").encode()
    if kind.startswith("activities"):
        # One seed's parcels for every file: keys repeat across files, the latest wins.
        lines = write_activities(path, rows=3, seed=seed, _parcel_seed=1).read_text().splitlines()
        if kind == "activities_bad":
            lines[1] = "31/02/2024" + lines[1][10:]  # no such day: quarantined
        return ("\n".join(lines) + "\n").encode()
    return [b"a,b\n1,2\n", b"", b"fixed acidity,pH\n"][seed % 3]  # unknown, empty, no rows


uploads = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.booleans()), min_size=1, max_size=9
)


@contextmanager
def a_lake(batch_size: int) -> Iterator[Lake]:
    with tempfile.TemporaryDirectory(prefix="agrolake-batches-") as home:
        lake = Lake(Settings(home=Path(home), batch_size=batch_size, train_on_run=False))
        lake.init()
        try:
            yield lake
        finally:
            lake.close()


def sorted_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same claim order in both lakes (a folder lists in no set order), so "the
    latest ingest wins" and "the first of the same bytes owns them" agree."""
    real = landing_zone.list_landing

    def in_key_order(store: Any) -> Listing:
        listing = real(store)
        listing.pending.sort(key=lambda o: o.key)
        return listing

    monkeypatch.setattr(landing_zone, "list_landing", in_key_order)


def outcome(lake: Lake) -> dict[str, Any]:
    """Everything batching must not change, with ingest ids named by their landing key."""
    rows = lake.catalog.find()
    key_of = {r.ingest_id: r.landing_key for r in rows}

    def named(text: Any) -> Any:
        if isinstance(text, str):
            for ingest_id, key in key_of.items():
                text = text.replace(ingest_id, f"<{key}>")
        return text

    records = {r.landing_key: _record(r, named, key_of) for r in rows}
    raw = sorted(named(o.key) for o in lake.store.list("raw"))
    invalid = sorted(named(o.key) for o in lake.store.list("landing"))
    tables = {}
    for ref in [*TABLES, QUARANTINE]:
        data = lake.tables.read(ref)
        if data is None or data.num_rows == 0:
            continue
        frame = pl.from_arrow(data)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.drop("_ingested_at").with_columns(pl.col("_ingest_id").replace(key_of))
        tables[ref.sql_name] = frame.select(sorted(frame.columns)).sort(pl.all()).rows()
    return {"records": records, "raw": raw, "invalid": invalid, "tables": tables}


def _record(row: Any, named: Any, key_of: dict[str, str]) -> list[Any]:
    """An ingest's record, ids named, the report's time left out."""
    details = {k: v for k, v in row.details.items() if k not in ("rejected_at", "ingest_id")}
    return [
        row.status,
        row.dataset,
        row.source,
        row.sha256,
        named(row.reason),
        named(row.raw_key),
        named(row.invalid_key),
        key_of.get(str(row.duplicate_of)),
        named(repr(sorted(details.items()))),
    ]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=uploads)
def test_batches_end_as_files_taken_one_at_a_time(
    files: list[tuple[str, int, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    sorted_listing(monkeypatch)
    ends = []
    with tempfile.TemporaryDirectory() as folder:
        inputs = [
            (f"{i:02d}-{kind}.csv", file_bytes(kind, seed, Path(folder)))
            for i, (kind, seed, _) in enumerate(files)
        ]
        # The same bytes again under another name, when the draw asks for it.
        again = [i for i, (_, _, twice) in enumerate(files) if twice]
        inputs += [(f"{i:02d}-copia.csv", inputs[i][1]) for i in again]
        for one_at_a_time in (True, False):
            monkeypatch.setattr(trusted_zone, "BATCH_INGESTS", 1 if one_at_a_time else 1024)
            with a_lake(batch_size=1 if one_at_a_time else 64) as lake:
                for key, data in inputs:
                    lake.store.put("landing", key, data)
                landed = landing_zone.process_landing(lake)
                assert landed.stopped is None
                trusted = trusted_zone.process_trusted(lake)
                assert trusted.failed == {} and trusted.given_up == {}
                ends.append(outcome(lake))
    one_by_one, batched = ends
    assert batched["records"] == one_by_one["records"]
    assert batched["raw"] == one_by_one["raw"]
    assert batched["invalid"] == one_by_one["invalid"]
    assert batched["tables"] == one_by_one["tables"]
