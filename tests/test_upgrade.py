"""A lake built by the previous release (tests/data/lake_v0_1) keeps working: the catalog
migrates, raw keys, table names and lineage stay valid, and new files go through."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from sqlalchemy import text

from agrolake.answers.provenance import of_key, of_table
from agrolake.answers.query import query
from agrolake.answers.reports import status
from agrolake.lake import Lake
from agrolake.lake.catalog.database import head_revision
from agrolake.lake.settings import Settings
from agrolake.pipeline import rebuild, run_all

ARCHIVE = Path(__file__).with_name("data") / "lake_v0_1" / "lake.tar.gz"


@pytest.fixture
def old_lake(tmp_path: Path) -> Lake:
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(tmp_path, filter="data")
    with Lake(Settings(home=tmp_path / "home")).catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    return Lake(Settings(home=tmp_path / "home"))


def test_the_previous_release_lake_opens_and_goes_on(old_lake: Lake) -> None:
    lake = old_lake
    lake.init()
    with lake.catalog.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            head_revision()
        )
        ids = dict(conn.execute(text("SELECT table_name, table_id FROM table_versions")).all())
    assert ids["trusted.erp_parcels"] == "erp.parcels"
    assert ids["refined.ml_wine_quality"] == "ml.wine_quality"

    before = status(lake)
    assert before["landing"]["pending"] == 1
    assert before["raw"]["by_dataset"] == {
        "erp.activities": 1,
        "erp.parcels_and_treatments": 1,
        "lab.wine_quality": 1,
        "remote_sensing.ndvi_files": 1,
    }
    assert before["orphaned"] == {"datasets": {}, "tables": []}
    assert before["trusted"]["trusted.erp_activities"]["quarantined"] == 1
    for row in lake.catalog.find(status="trusted"):
        assert lake.store.exists("raw", row.raw_key), row.raw_key

    [quarantined] = query(lake, "SELECT count(*) AS n FROM trusted.quarantine_rows").to_pylist()
    assert quarantined["n"] == 1
    [found] = of_key(lake, "actividades.csv")
    assert {"table": "trusted.erp_activities", "version": 1} in found["tables"]

    ran = run_all(lake)  # the wine file that waited in landing
    assert ran.landing.counts == {"raw": 1}
    wine = of_table(lake, "refined.ml_wine_quality")
    assert len(wine["ingests"]) == 2 and wine["version"] == 2
    [rows] = query(lake, "SELECT count(*) AS n FROM refined.ml_wine_quality").to_pylist()
    assert rows["n"] == 20 + 12

    rebuilt = {w.table: w.rows for w in rebuild(lake, ["trusted.erp_activities"])}
    assert rebuilt["trusted.erp_activities"] == before["trusted"]["trusted.erp_activities"]["rows"]
    assert "rebuild_due" not in status(lake)["trusted"]["trusted.erp_activities"]
    lake.close()
