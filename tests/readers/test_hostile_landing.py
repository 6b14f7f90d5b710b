"""The hostile corpus landed beside good files, on both backends.

Each hostile file is rejected with its own code and a one-line reason, the
awkward good ones (UTF-16, lone CRs, latin-1 after an ASCII MiB) are read, and
every good file of the same batch reaches trusted with all its rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.lake.tables import TableRef
from agrolake.samples import write_activities, write_parcels_and_treatments, write_wine_quality
from agrolake.zones.landing import REASON_SUFFIX, pending, process_landing
from agrolake.zones.trusted import process_trusted
from tests import hostile

ACTIVITIES = TableRef("trusted", "erp.activities")


def test_hostile_files_get_their_codes_and_good_files_reach_trusted(
    lake: Lake, hostile_files: list[tuple[hostile.Hostile, Path]], tmp_path: Path
) -> None:
    lake = Lake(Settings(**{**lake.settings.model_dump(), **hostile.CORPUS_LIMITS}))
    good = {
        "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx": write_parcels_and_treatments(
            tmp_path / "p.xlsx", rows=20, seed=5
        ),
        "actividades 2024.csv": write_activities(tmp_path / "a.csv", rows=30, seed=5),
        "winequality-red.csv": write_wine_quality(tmp_path / "w.csv", rows=40, seed=5),
    }
    for case, path in hostile_files:
        lake.store.put("landing", case.name, path)
    for name, path in good.items():
        lake.store.put("landing", name, path)

    summary = process_landing(lake)

    assert list(pending(lake)) == []
    outcomes = {o.landing_key: o for o in summary.outcomes}
    for case, path in hostile_files:
        outcome = outcomes[case.name]
        if case.expect == "raw":
            assert outcome.status == "raw", f"{case.name}: {outcome.reason}"
            continue
        assert outcome.status == "invalid", f"{case.name} ({case.what}) was {outcome.status}"
        report = json.loads(lake.store.read("landing", outcome.key + REASON_SUFFIX))
        assert report["code"] == case.expect, f"{case.name}: {report['reason']}"
        assert report["reason"] and "\n" not in report["reason"]
        assert lake.store.read("landing", outcome.key) == path.read_bytes(), "kept unchanged"
    for name in good:
        assert outcomes[name].status == "raw", f"{name}: {outcomes[name].reason}"

    trusted = process_trusted(lake)

    assert trusted.failed == {}
    read = [*good, *(case.name for case, _ in hostile_files if case.expect == "raw")]
    assert {r.ingest_id for r in lake.catalog.find(status="trusted")} == {
        outcomes[name].ingest_id for name in read
    }
    rows_in = {name: _rows_in(lake, outcomes[name].ingest_id) for name in read}
    assert rows_in["winequality-utf16.csv"] == 30
    assert rows_in["actividades_cr.csv"] == 30, "a lone CR ends a row"
    assert rows_in["actividades_mezcla.csv"] == 30, "LF, CRLF and lone CR all end rows"
    latin1 = outcomes["latin1_tras_1mib_ascii.csv"].ingest_id
    activities = pl.from_arrow(lake.tables.read(ACTIVITIES))
    assert isinstance(activities, pl.DataFrame)
    late = activities.filter(pl.col("_ingest_id") == latin1).rows()
    assert any("PEÑÍSCOLA 3" in str(value) for row in late for value in row), late


def _rows_in(lake: Lake, ingest_id: str) -> int:
    ingest = lake.catalog.get(ingest_id)
    assert ingest is not None
    tables = ingest.details["trusted"]
    return sum(int(t["quality"]["rows_in"]) for t in tables.values())
