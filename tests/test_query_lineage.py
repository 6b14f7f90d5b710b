"""SQL over every table, time travel, and lineage both ways, on both backends."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agrolake.answers.provenance import of_key, of_table
from agrolake.answers.query import parse_as_of, query
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.pipeline import run_all
from agrolake.samples import write_activities
from tests.test_cli import cli


def test_every_table_is_queryable_by_its_sql_name(demo_lake: Lake) -> None:
    for ref in load_registry(demo_lake.settings).table_refs():
        if ref.id == "quarantine.rows":
            continue  # the demo quarantines nothing
        [row] = query(demo_lake, f"SELECT count(*) AS n FROM {ref.sql_name}").to_pylist()
        assert row["n"] > 0, ref.sql_name


def test_join_across_zones_and_time_travel(demo_lake: Lake, tmp_path: Path) -> None:
    joined = query(
        demo_lake,
        "SELECT t.enclosure_id, count(*) AS n FROM refined.digital_twin_enclosures t "
        "JOIN trusted.erp_activities a USING (enclosure_id) GROUP BY 1",
    )
    assert joined.num_rows > 0
    activities = TableRef("trusted", "erp.activities")
    before = demo_lake.tables.version(activities)
    old = query(demo_lake, "SELECT count(*) AS n FROM trusted.erp_activities").to_pylist()[0]["n"]
    demo_lake.store.put(
        "landing", "mas.csv", write_activities(tmp_path / "m.csv", rows=10, seed=77).read_bytes()
    )
    run_all(demo_lake)
    version = demo_lake.tables.version(activities)
    assert before is not None and version == before + 1
    new = query(demo_lake, "SELECT count(*) AS n FROM trusted.erp_activities").to_pylist()[0]["n"]
    pinned = query(
        demo_lake,
        "SELECT count(*) AS n FROM trusted.erp_activities",
        parse_as_of(demo_lake, [f"trusted.erp_activities={before}"]),
    ).to_pylist()[0]["n"]
    assert new > old and pinned == old


def test_bad_sql_and_bad_as_of_are_usage_errors(demo_lake: Lake) -> None:
    with pytest.raises(UsageError, match="query failed"):
        query(demo_lake, "SELECT nope FROM refined.digital_twin_enclosures")
    with pytest.raises(UsageError, match="TABLE=VERSION"):
        parse_as_of(demo_lake, ["trusted.erp_parcels"])
    with pytest.raises(UsageError, match="no table"):
        parse_as_of(demo_lake, ["trusted.nothing=1"])
    with pytest.raises(UsageError, match="has no version 99"):
        query(demo_lake, "SELECT 1", {"trusted.erp_parcels": 99})


def test_lineage_from_a_landing_file_to_refined_and_back(demo_lake: Lake) -> None:
    name = "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx"
    [found] = of_key(demo_lake, name)
    reached = {t["table"] for t in found["tables"]}
    assert {"trusted.erp_parcels", "trusted.erp_treatments"} <= reached
    assert "refined.digital_twin_enclosures" in reached
    assert found["raw_key"].startswith("7eData/erp.parcels_and_treatments/")

    # From a refined row back to the file it came from.
    back = of_table(demo_lake, "refined.digital_twin_enclosures")
    assert {i["table"] for i in back["inputs"]} == {
        "trusted.erp_parcels",
        "trusted.erp_treatments",
        "trusted.erp_activities",
        "trusted.weather_daily",
        "trusted.remote_sensing_ndvi",
    }
    names = {i["original_name"] for i in back["ingests"]}
    assert name in names and not any("wine" in n for n in names)
    assert {"aemet_valores_climatologicos_2021-2022.json", "ndvi_recintos.csv"} <= names
    assert set(back) == {"table", "version", "inputs", "ingests"}
    assert set(back["ingests"][0]) == {"ingest_id", "original_name", "raw_key", "sha256"}


def test_lineage_of_an_unknown_key_or_version_is_a_usage_error(demo_lake: Lake) -> None:
    with pytest.raises(UsageError, match="no ingest"):
        of_key(demo_lake, "nothing.csv")
    with pytest.raises(UsageError, match="no lineage recorded for version 42"):
        of_table(demo_lake, "trusted.erp_parcels", 42)


def test_cli_query_json_and_lineage_json(
    demo_lake: Lake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agrolake.cli import main

    def cli(*args: str) -> str:
        monkeypatch.setattr(sys, "argv", ["agrolake", *args])
        try:
            main()
        except SystemExit as exit_:
            assert exit_.code in (0, None), capsys.readouterr().err
        return capsys.readouterr().out

    rows = json.loads(
        cli(
            "query", "--format", "json",
            "SELECT enclosure_id, year, last_treatment_date FROM refined.digital_twin_enclosures "
            "WHERE last_treatment_date IS NOT NULL ORDER BY 1, 2 LIMIT 2",
        )
    )  # fmt: skip
    assert len(rows) == 2 and len(rows[0]["last_treatment_date"]) == 10  # ISO date
    assert rows[0]["last_treatment_date"][4] == "-"
    csv = cli("query", "--format", "csv", "SELECT 1 AS a, 'x' AS b")
    assert csv.splitlines() == ["a,b", "1,x"]
    formulas = "SELECT '=HYPERLINK(\"http://x\")' AS \"=c\", '-4' AS n, -2 AS m, '@x' AS at"
    assert cli("query", "--format", "csv", formulas).splitlines() == [
        "'=c,n,m,at",
        '"\'=HYPERLINK(""http://x"")",-4,-2,\'@x',
    ]
    raw = cli("query", "--format", "csv", "--raw", formulas).splitlines()
    assert raw[1] == '"=HYPERLINK(""http://x"")",-4,-2,@x'
    lineage = json.loads(cli("lineage", "--table", "trusted.erp_parcels", "--json"))
    assert lineage["table"] == "trusted.erp_parcels" and lineage["ingests"]
    status = json.loads(cli("status", "--json"))
    # Version 0 is the empty table's creation; the first file's rows are version 1.
    assert status["trusted"]["trusted.erp_parcels"] == {"version": 1, "rows": 40, "quarantined": 0}
    assert "refined.digital_twin_enclosures" in status["refined"]
    # weather_daily is written by two datasets' declarations: neither makes it due.
    assert not [t for t, facts in status["trusted"].items() if "rebuild_due" in facts]


def test_cli_rebuild_all_and_lineage_text(
    demo_lake: Lake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        return cli(capsys, monkeypatch, *args)

    code, out, _ = run("rebuild", "--all")
    rebuilt = [line.split()[1] for line in out.splitlines()]
    assert code == 0
    assert {"trusted.erp_parcels", "trusted.lab_wine_quality", "refined.ml_wine_quality"} <= set(
        rebuilt
    )
    assert run("rebuild")[2].startswith("error: give the tables to rebuild, or --all")
    assert run("rebuild", "trusted.nothing")[2].startswith("error: no table 'trusted.nothing'")

    code, out, _ = run("lineage", "Recintos_Almendros_Cercanos_y_Otros_Cultivos.xlsx")
    assert code == 0 and "→ refined.digital_twin_enclosures v" in out
    assert run("lineage")[2].startswith("error: give a KEY, or --table NAME")


def test_rebuild_all_skips_tables_no_file_reached(local_lake: Lake, tmp_path: Path) -> None:
    from agrolake.pipeline import rebuild
    from agrolake.samples.wine import write_wine_quality
    from agrolake.zones.uploads import upload

    assert rebuild(local_lake) == []  # a new lake: no table to rebuild, no error
    upload(local_lake, [write_wine_quality(tmp_path / "vino.csv", rows=30, seed=3)])
    run_all(local_lake)
    written = {w.table: w.rows for w in rebuild(local_lake)}
    assert written["trusted.lab_wine_quality"] == 30
    assert "trusted.erp_activities" not in written
