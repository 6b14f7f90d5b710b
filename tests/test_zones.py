"""Raw → trusted → refined on both backends: contents, idempotency, quarantine, evolution."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from agrolake.lake import Lake
from agrolake.lake.catalog import RAW
from agrolake.lake.tables import QUARANTINE, TableRef
from agrolake.pipeline import rebuild, run_all
from agrolake.samples import (
    write_activities,
    write_parcels_and_treatments,
    write_wine_quality,
)
from agrolake.zones.trusted import process_trusted

PARCELS = TableRef("trusted", "erp.parcels")
TREATMENTS = TableRef("trusted", "erp.treatments")
ACTIVITIES = TableRef("trusted", "erp.activities")
WINE = TableRef("trusted", "lab.wine_quality")
TWIN = TableRef("refined", "digital_twin.enclosures")
ML_WINE = TableRef("refined", "ml.wine_quality")


def frame(lake: Lake, ref: TableRef, version: int | None = None) -> pl.DataFrame:
    data = lake.tables.read(ref, version)
    assert data is not None, f"{ref} exists"
    result = pl.from_arrow(data)
    assert isinstance(result, pl.DataFrame)
    return result


def land(lake: Lake, key: str, data: bytes) -> None:
    lake.store.put("landing", key, data)


def test_demo_files_reach_every_table_with_provenance(demo_lake: Lake) -> None:
    parcels = frame(demo_lake, PARCELS)
    assert parcels.height == 40
    assert {"_ingest_id", "_ingested_at", "_source", "_row"} <= set(parcels.columns)
    assert parcels["_source"].unique().to_list() == ["7eData"]
    assert parcels["enclosure_id"].str.count_matches("-").unique().to_list() == [6]
    assert "producer_nif" not in parcels.columns, "personal data stays out by default"
    assert "applicator_nif" not in frame(demo_lake, TREATMENTS).columns
    table = demo_lake.tables.open(PARCELS)
    assert table is not None and table.metadata().partition_columns == ["harvest_year"]

    twin = frame(demo_lake, TWIN)
    assert twin.height == parcels.height, "one twin row per enclosure and harvest year"
    treatments = frame(demo_lake, TREATMENTS)
    per_key = treatments.group_by("enclosure_id", "harvest_year").len()
    joined = twin.join(
        per_key, left_on=["enclosure_id", "year"], right_on=["enclosure_id", "harvest_year"]
    )
    assert (joined["treatment_count"] == joined["len"]).all()
    assert twin["activity_count"].sum() > 0, "activities join the twin on the SIGPAC id"

    wine = frame(demo_lake, WINE)
    assert wine.height == 1599 + 400, "every wine row of both files; repeats are kept"
    assert frame(demo_lake, ML_WINE).height == wine.height


def test_running_again_or_reprocessing_leaves_identical_tables(demo_lake: Lake) -> None:
    before = {ref: _sorted(frame(demo_lake, ref)) for ref in (PARCELS, ACTIVITIES, WINE, TWIN)}
    summary = run_all(demo_lake)
    assert summary.trusted.ingests == [] and summary.refined.writes == []

    for row in demo_lake.catalog.find(dataset="lab.wine_quality", status="trusted"):
        demo_lake.catalog.mark(row.ingest_id, RAW)  # as if trusted had never seen them
    for row in demo_lake.catalog.find(dataset="erp.activities", status="trusted"):
        demo_lake.catalog.mark(row.ingest_id, RAW)
    again = process_trusted(demo_lake)
    assert len(again.ingests) == 4
    for ref in (PARCELS, ACTIVITIES, WINE):
        assert _sorted(frame(demo_lake, ref)).equals(before[ref]), ref


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    columns = sorted(c for c in df.columns if c != "_ingested_at")
    return df.select(columns).sort(columns, nulls_last=True)


def test_a_bad_row_is_quarantined_and_the_others_proceed(lake: Lake, tmp_path: Path) -> None:
    csv = write_activities(tmp_path / "a.csv", rows=20, seed=4).read_text()
    lines = csv.splitlines()
    lines[3] = "31/02/2024" + lines[3][10:]  # no such date
    land(lake, "actividades.csv", ("\n".join(lines) + "\n").encode())

    summary = run_all(lake)

    assert frame(lake, ACTIVITIES).height == 19
    [write] = [w for w in summary.trusted.writes if w.table == "trusted.erp_activities"]
    assert (write.rows, write.quarantined) == (19, 1)
    quarantine = frame(lake, QUARANTINE)
    [bad] = quarantine.to_dicts()
    assert bad["table"] == "trusted.erp_activities"
    assert (bad["column"], bad["check"], bad["value"]) == (
        "activity_date",
        "type:date",
        "31/02/2024",
    )
    assert bad["row_index"] == 2 and bad["_ingest_id"] == write_ingest_id(lake)


@pytest.mark.parametrize("dataset", ["erp.activities", "lab.wine_quality"])
def test_each_ingest_records_its_quality_report(
    local_lake: Lake, tmp_path: Path, dataset: str
) -> None:
    """Rows in, written, quarantined by check and column, null rates, new columns: on both
    cleaning paths (by distinct value for activities, row by row for wine)."""
    if dataset == "erp.activities":
        lines = write_activities(tmp_path / "a.csv", rows=20, seed=4).read_text().splitlines()
        lines[3] = "31/02/2024" + lines[3][10:]
        failed, table = ("type:date", "activity_date"), "trusted.erp_activities"
    else:
        lines = write_wine_quality(tmp_path / "w.csv", rows=20, seed=4).read_text().splitlines()
        lines[3] = ",".join([*lines[3].split(",")[:-1], "11"])
        failed, table = ("range:0..10", "quality"), "trusted.lab_wine_quality"
    lines = [lines[0] + ",Nota"] + [
        f"{line},{'x' if i % 2 else ''}" for i, line in enumerate(lines[1:])
    ]
    land(local_lake, "file.csv", ("\n".join(lines) + "\n").encode())
    run_all(local_lake)
    [row] = local_lake.catalog.find(dataset=dataset)
    quality = row.trusted_stats[table]["quality"]
    assert (quality["rows_in"], quality["rows_quarantined"]) == (20, 1)
    assert quality["rows_written"] <= 19  # activities: repeated keys within the file
    assert quality["by_check"] == {failed[0]: 1} and quality["by_column"] == {failed[1]: 1}
    assert quality["new_columns"] == ["nota"]
    assert set(quality["null_rate"]) >= {failed[1]} and all(
        0 <= rate <= 1 for rate in quality["null_rate"].values()
    )


def write_ingest_id(lake: Lake) -> str:
    [row] = lake.catalog.find(dataset="erp.activities")
    return str(row.ingest_id)


def test_a_file_whose_rows_all_fail_is_reported(lake: Lake, tmp_path: Path) -> None:
    wine = write_wine_quality(tmp_path / "w.csv", rows=5).read_text().splitlines()
    broken = [wine[0]] + [",".join(["n/a"] * 12) for _ in wine[1:]]
    land(lake, "vino_roto.csv", ("\n".join(broken) + "\n").encode())
    summary = run_all(lake)
    assert any(
        "vino_roto.csv: every row of trusted.lab_wine_quality" in w
        for w in summary.trusted.warnings
    )


def test_latest_ingest_wins_on_the_business_key(lake: Lake, tmp_path: Path) -> None:
    workbook = write_parcels_and_treatments(tmp_path / "p.xlsx", rows=10, seed=2)
    land(lake, "Recintos_2023.xlsx", workbook.read_bytes())
    run_all(lake)
    first = frame(lake, PARCELS)

    changed = pl.read_excel(workbook, sheet_id=0, infer_schema_length=0)
    parcels = changed["Parcelas"].with_columns(pl.lit("Regadío goteo").alias("SistemaDeRiego"))
    buffer = io.BytesIO()
    with __import__("xlsxwriter").Workbook(buffer) as book:
        parcels.write_excel(book, worksheet="Parcelas")
        changed["Tratamientos"].write_excel(book, worksheet="Tratamientos")
    land(lake, "Recintos_2023_v2.xlsx", buffer.getvalue())
    run_all(lake)

    second = frame(lake, PARCELS)
    assert second.height == first.height, "a MERGE, not an append"
    assert second["irrigation_system"].unique().to_list() == ["Regadío goteo"]
    assert second["_ingest_id"].n_unique() == 1 and set(second["_ingest_id"]) != set(
        first["_ingest_id"]
    )
    twin = frame(lake, TWIN)
    assert twin["irrigation_system"].unique().to_list() == ["Regadío goteo"]


def test_a_new_column_is_kept_and_earlier_rows_get_null(lake: Lake, tmp_path: Path) -> None:
    first = write_activities(tmp_path / "a.csv", rows=5, seed=1).read_text()
    land(lake, "a1.csv", first.encode())
    run_all(lake)
    second = write_activities(tmp_path / "b.csv", rows=5, seed=2).read_text().splitlines()
    evolved = [second[0] + ",Operario"] + [line + ",Juan Pérez" for line in second[1:]]
    land(lake, "a2.csv", ("\n".join(evolved) + "\n").encode())
    run_all(lake)

    activities = frame(lake, ACTIVITIES)
    assert activities.schema["operario"] == pl.String
    assert set(activities.filter(pl.col("operario").is_not_null())["operario"]) == {"Juan Pérez"}
    assert activities["operario"].null_count() > 0


def test_a_new_column_reaches_a_table_without_key_and_older_files_write_on(
    lake: Lake, tmp_path: Path
) -> None:
    """Rows replaced per ingest take new columns too (0.1 failed: fields do not match)."""
    wine = write_wine_quality(tmp_path / "w.csv", rows=6, seed=1).read_text().splitlines()
    land(lake, "wine_1.csv", ("\n".join(wine) + "\n").encode())
    run_all(lake)
    evolved = [wine[0] + ",Bodega"] + [line + ",La Loma" for line in wine[1:4]]
    land(lake, "wine_2.csv", ("\n".join(evolved) + "\n").encode())
    assert run_all(lake).trusted.failed == {}
    plain = write_wine_quality(tmp_path / "w3.csv", rows=3, seed=7).read_text()
    land(lake, "wine_3.csv", plain.encode())
    assert run_all(lake).trusted.failed == {}

    rows = frame(lake, WINE)
    assert rows.height == 6 + 3 + 3
    assert rows["bodega"].to_list().count("La Loma") == 3 and rows["bodega"].null_count() == 9


def test_a_dropped_required_column_is_rejected_with_its_name(lake: Lake, tmp_path: Path) -> None:
    import csv

    rows = list(csv.reader(write_activities(tmp_path / "a.csv", rows=5, seed=1).open()))
    dropped = io.StringIO()
    csv.writer(dropped, lineterminator="\n").writerows(row[:2] + row[3:] for row in rows)
    land(lake, "actividades_sin_parcela.csv", dropped.getvalue().encode())
    [outcome] = run_all(lake).landing.outcomes
    assert outcome.status == "invalid" and "PARCELA" in (outcome.reason or "")


def test_rebuild_makes_a_new_version_with_the_same_rows(demo_lake: Lake) -> None:
    old_version = demo_lake.tables.version(PARCELS)
    before = _sorted(frame(demo_lake, PARCELS))
    writes = rebuild(demo_lake, ["trusted.erp_parcels"])
    assert [w.table for w in writes] == ["trusted.erp_parcels", "refined.digital_twin_enclosures"]
    assert demo_lake.tables.version(PARCELS) == (old_version or 0) + 1
    assert _sorted(frame(demo_lake, PARCELS)).equals(before)
    assert _sorted(frame(demo_lake, PARCELS, old_version)).equals(before), "time travel"
    latest = demo_lake.catalog.lineage.latest("trusted.erp_parcels")
    assert latest is not None and latest.rebuild


def test_only_refined_tables_whose_inputs_changed_are_rebuilt(
    demo_lake: Lake, tmp_path: Path
) -> None:
    land(
        demo_lake,
        "mas_actividades.csv",
        write_activities(tmp_path / "x.csv", rows=8, seed=99).read_bytes(),
    )
    summary = run_all(demo_lake)
    assert sorted(w.table for w in summary.refined.writes) == [
        "refined.digital_twin_activities",
        "refined.digital_twin_enclosures",
    ]


def test_concurrent_writers_on_one_table_lose_no_commit(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from agrolake.lake.settings import Settings
    from agrolake.zones.landing import process_landing

    for i in range(6):
        data = write_activities(tmp_path / f"a{i}.csv", rows=15, seed=100 + i).read_bytes()
        land(lake, f"actividades_{i}.csv", data)
    process_landing(lake)
    expected = sum(
        pl.read_csv(tmp_path / f"a{i}.csv", infer_schema=False)
        .unique(subset=["FECHA", "TAREA-PRODUCTO-DOSIS", "RECINTO ID"])
        .height
        for i in range(6)
    )

    monkeypatch.setattr("agrolake.zones.trusted.BATCH_INGESTS", 1)  # one commit per ingest
    start = threading.Barrier(3)

    def worker(_: int) -> list[str]:
        own = Lake(Settings(**lake.settings.model_dump()))
        own.catalog.count_by_status()  # connected before the start line
        start.wait()
        return process_trusted(own).ingests

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(worker, range(3)))
    done = [i for result in results for i in result]
    assert sum(1 for r in results if r) >= 2, "the writers really ran side by side"

    assert sorted(done) == sorted(r.ingest_id for r in lake.catalog.find(status="trusted"))
    assert len(done) == 6, "each ingest once"
    assert frame(lake, ACTIVITIES).height == expected
    versions = lake.catalog.lineage.versions("trusted.erp_activities")
    assert len({v.version for v in versions}) == 6, "six commits, none lost"


def test_small_ingests_of_a_dataset_share_one_commit_with_the_same_rows(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batching is an optimisation only: the rows equal those of one commit per ingest,
    the later file still wins on a key, and lineage names every ingest."""
    from agrolake.lake.settings import Settings
    from agrolake.zones.landing import process_landing

    def renamed(text: str, prefix: str, lines: int) -> str:
        """The same activities (same keys) under another parcel name, in the first lines."""
        import csv

        header, *rows = list(csv.reader(io.StringIO(text)))
        for row in rows[:lines]:
            row[2] = f"{prefix} {row[2]}"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header, *rows])
        return out.getvalue()

    first = write_activities(tmp_path / "a.csv", rows=40, seed=7).read_text()
    second = write_activities(tmp_path / "b.csv", rows=40, seed=8).read_text()
    files = {  # later files correct earlier ones: same keys, another parcel name
        "actividades_1.csv": first,
        "actividades_2.csv": renamed(first, "CORREGIDA", 40),
        "actividades_3.csv": second,
        "actividades_4.csv": renamed(second, "OTRA", 20),
    }

    def trusted_rows(target: Lake) -> pl.DataFrame:
        for key, text in files.items():
            land(target, key, text.encode())
        process_landing(target)
        summary = process_trusted(target)
        assert len(summary.ingests) == 4
        return frame(target, ACTIVITIES).drop("_ingest_id", "_ingested_at").sort(pl.all())

    lake = local_lake
    batched = trusted_rows(lake)
    [version] = lake.catalog.lineage.versions("trusted.erp_activities")
    assert len(version.added) == 4, "one commit, naming the four ingests"
    assert batched.height == 80, "one row per key: 40 activities in each of two plans"

    monkeypatch.setattr("agrolake.zones.trusted.BATCH_INGESTS", 1)
    other = Lake(Settings(home=tmp_path / "one-by-one"))
    other.init()
    one_by_one = trusted_rows(other)
    assert len(other.catalog.lineage.versions("trusted.erp_activities")) == 4
    assert batched.equals(one_by_one)


def _raw_activities(lake: Lake, lines: list[str], encoding: str = "utf-8") -> dict[str, Any]:
    """Land an activities CSV and take it to raw; its ingest row."""
    from agrolake.zones.landing import process_landing

    land(lake, "actividades.csv", ("\n".join(lines) + "\n").encode(encoding))
    process_landing(lake)
    [ingest] = lake.catalog.find(status=RAW)
    return ingest


def test_cleaning_by_value_writes_the_rows_of_the_row_wise_cleaning(
    local_lake: Lake, tmp_path: Path
) -> None:
    """Same valid rows (order, new columns) and quarantine as cleaning every row."""
    from polars.testing import assert_frame_equal

    from agrolake.datasets.registry import load_registry
    from agrolake.zones.trusted import _read, _spool_raw, clean_ingest

    body = write_activities(tmp_path / "a.csv", rows=60, seed=9).read_text().splitlines()
    lines = [body[0] + ",Operario "] + [f"{line}, Juan {i % 3} " for i, line in enumerate(body[1:])]
    lines += [lines[5], lines[7].replace("/", "-", 1), "31/02/2024" + lines[9][10:]]
    lines += ["NP,PODA,x,44-08-0-0-1-68-01,", lines[5].replace(" - ", "-")]
    ingest = _raw_activities(local_lake, lines)
    dataset = load_registry(local_lake.settings).dataset("erp.activities")
    [table] = dataset.tables
    assert table.by_value
    raw = _read(_spool_raw(local_lake, ingest, tmp_path), ingest.read_options, table)
    fast = clean_ingest(local_lake, dataset, table, ingest, raw)
    row_wise = table.model_copy(update={"by_value": False})
    rows = clean_ingest(local_lake, dataset, row_wise, ingest, raw)
    assert fast.quarantined.height >= 3 and "operario" in fast.valid.columns
    assert fast.valid.height < len(lines) - 1 - fast.rows_quarantined  # a duplicate key
    assert_frame_equal(fast.valid, rows.valid)
    assert_frame_equal(fast.quarantined, rows.quarantined)


def test_local_raw_objects_are_read_in_place(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agrolake.zones.trusted

    def no_copy(*args: object) -> Path:
        raise AssertionError("a UTF-8 raw object on the local backend is read in place")

    monkeypatch.setattr(agrolake.zones.trusted, "_spool_raw", no_copy)
    lines = write_activities(tmp_path / "a.csv", rows=20, seed=3).read_text().splitlines()
    _raw_activities(local_lake, lines)
    summary = process_trusted(local_lake)
    assert not summary.failed and frame(local_lake, ACTIVITIES).height == summary.writes[0].rows


def test_a_csv_in_another_encoding_reaches_trusted_and_leaves_raw_as_it_was(lake: Lake) -> None:
    lines = ["FECHA;TAREA-PRODUCTO-DOSIS;PARCELA;RECINTO ID"]
    task = "FERTIRRIGACIÓN - UREA 46% - 40 kg/ha"
    lines += [f"0{d}/03/2024;{task};CAÑADA {d};44-4-0-0-34-134-{d}" for d in range(1, 8)]
    ingest = _raw_activities(lake, lines, encoding="cp1252")
    # The detector may name another single-byte code page: the text is read as it says.
    encoding = (ingest.details or {}).get("encoding")
    assert encoding not in (None, "utf-8")
    raw_before = sorted(o.key for o in lake.store.list("raw"))

    summary = process_trusted(lake)

    assert not summary.failed
    activities = frame(lake, ACTIVITIES)
    as_read = {f"CAÑADA {d}".encode("cp1252").decode(encoding) for d in range(1, 8)}
    assert set(activities["parcel_name"]) == as_read
    assert set(activities["task_name"]) == {"FERTIRRIGACIÓN".encode("cp1252").decode(encoding)}
    assert sorted(o.key for o in lake.store.list("raw")) == raw_before


def test_an_ingest_that_cannot_be_written_does_not_hold_back_its_batch(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agrolake.zones.trusted as trusted
    from agrolake.errors import StorageError
    from agrolake.zones.landing import process_landing

    for i in range(4):
        data = write_activities(tmp_path / f"a{i}.csv", rows=10, seed=40 + i).read_bytes()
        land(local_lake, f"actividades_{i}.csv", data)
    process_landing(local_lake)
    [bad] = [r for r in local_lake.catalog.find(status=RAW) if r.original_name.endswith("2.csv")]
    real = trusted.write_ingests

    def fails_for_bad(lake: Lake, table: Any, cleaned: list[Any]) -> Any:
        if any(ingest.ingest_id == bad.ingest_id for ingest, _ in cleaned):
            raise StorageError("the store hiccuped")
        return real(lake, table, cleaned)

    monkeypatch.setattr(trusted, "write_ingests", fails_for_bad)
    summary = process_trusted(local_lake)

    assert summary.failed == {bad.ingest_id: "the store hiccuped"}
    assert len(summary.ingests) == 3 and bad.ingest_id not in summary.ingests
    assert set(frame(local_lake, ACTIVITIES)["_ingest_id"]) == set(summary.ingests)
    [waiting] = local_lake.catalog.find(status=RAW)
    assert waiting.ingest_id == bad.ingest_id and waiting.reason == "the store hiccuped"


def test_trusted_refined_and_rebuild_report_their_progress(
    local_lake: Lake, tmp_path: Path
) -> None:
    for i in range(2):
        data = write_activities(tmp_path / f"a{i}.csv", rows=5, seed=70 + i).read_bytes()
        land(local_lake, f"actividades_{i}.csv", data)
    calls: list[tuple[str, int, int | None]] = []
    run_all(local_lake, on_progress=lambda step, done, total: calls.append((step, done, total)))
    trusted = [c for c in calls if c[0] == "trusted"]
    assert trusted[-1] == ("trusted", 2, 2)
    assert calls[-1] == ("refined", 4, 4), "every refined table of the registry, then done"

    rebuilt: list[tuple[str, int, int | None]] = []
    rebuild(local_lake, ["trusted.erp_activities"], lambda *call: rebuilt.append(call))
    assert rebuilt[0] == ("rebuilding trusted.erp_activities", 0, 3)
    assert rebuilt[-1] == ("rebuilt", 3, 3), "the table and the two refined tables reading it"
