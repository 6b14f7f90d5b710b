"""Maintenance keeps every version models and lineage point to readable, removes the rest
past the retention, changes nothing in a dry run, and loses no writer's commit."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from agrolake.lake import Lake
from agrolake.lake.tables import TableRef, where_in
from agrolake.maintenance import maintain
from agrolake.pipeline import run_all
from agrolake.samples import write_activities, write_wine_quality
from tests.test_cli import cli

ML = TableRef("refined", "ml.wine_quality")
WINE = TableRef("trusted", "lab.wine_quality")
ACTIVITIES = TableRef("trusted", "erp.activities")
NO_GRACE = timedelta(0)  # no writer runs in these tests: every unreferenced file may go


@pytest.fixture
def lake_env(lake_env: dict[str, str]) -> dict[str, str]:
    """No retention window: only what models and lineage need stays readable."""
    return {**lake_env, "AGROLAKE_KEEP_VERSIONS_DAYS": "0", "AGROLAKE_MAINTAIN_AFTER_COMMITS": "0"}


def ingest_one_by_one(lake: Lake, tmp_path: Path, files: int) -> None:
    for i in range(files):
        data = write_wine_quality(tmp_path / f"w{i}.csv", rows=5, seed=i).read_bytes()
        lake.store.put("landing", f"vinos_{i}.csv", data)
        activities = write_activities(tmp_path / f"a{i}.csv", rows=4, seed=i, _parcel_seed=1)
        lake.store.put("landing", f"actividades_{i}.csv", activities.read_bytes())
        run_all(lake)


def register_model(lake: Lake, version: int) -> None:
    """A registered model version whose run says it was trained on ``ML`` at ``version``."""
    from agrolake.ml.tracking import MODEL_NAME, client, experiment_id

    mlflow_client = client(lake.settings)
    run = mlflow_client.create_run(
        experiment_id(lake.settings),
        tags={"agrolake.table": ML.sql_name, "agrolake.table_version": str(version)},
    )
    mlflow_client.set_terminated(run.info.run_id)
    mlflow_client.create_registered_model(MODEL_NAME)
    source = (lake.settings.home / "model").as_uri()
    mlflow_client.create_model_version(MODEL_NAME, source=source, run_id=run.info.run_id)


def rows(lake: Lake, ref: TableRef, version: int | None = None) -> list[dict[str, object]]:
    data = lake.tables.read(ref, version)
    assert data is not None
    return sorted(data.to_pylist(), key=repr)


def objects(lake: Lake) -> set[tuple[str, str, str | None]]:
    return {(z, o.key, o.etag) for z in ("trusted", "refined") for o in lake.store.list(z)}


def test_pinned_versions_stay_readable_and_the_rest_goes(lake: Lake, tmp_path: Path) -> None:
    ingest_one_by_one(lake, tmp_path, 6)
    # A model trained on ML v2 (the registry), another on v4 (the catalog's training runs).
    register_model(lake, 2)
    lake.catalog.training.claim("wine-quality", ML.sql_name, 4, "elasticnet", {}, "w")
    # What the refined versions read (lineage): the trusted versions they were built from.
    inputs = {v: lake.catalog.lineage.version(ML.sql_name, v).inputs for v in (2, 4)}  # type: ignore[union-attr]
    pinned = {
        (ML, 2), (ML, 4),
        *((WINE, inputs[v][WINE.sql_name]) for v in (2, 4)),
    }  # fmt: skip
    before = {(ref, v): rows(lake, ref, v) for ref, v in pinned}
    latest = {ref: rows(lake, ref) for ref in (ML, WINE, ACTIVITIES)}
    files = {ref: len(lake.tables.open(ref).file_uris()) for ref in (WINE, ACTIVITIES)}  # type: ignore[union-attr]
    assert min(files.values()) >= 6, "one small file per ingest"

    unchanged = objects(lake)
    preview = maintain(lake, dry_run=True, grace=NO_GRACE)
    assert objects(lake) == unchanged, "a dry run changes nothing"
    assert lake.catalog.upkeep.maintained() == {}
    would = {t.table: t for t in preview.tables}
    assert would[ML.sql_name].removed_files and would[ACTIVITIES.sql_name].compacted_files >= 6
    assert set(would[ML.sql_name].kept_versions) >= {2, 4}

    done = maintain(lake, grace=NO_GRACE)

    by_table = {t.table: t for t in done.tables}
    for ref, version in pinned:
        assert version in by_table[ref.sql_name].kept_versions, (ref, version)
        assert rows(lake, ref, version) == before[ref, version], "time travel: the same rows"
    for ref, rows_now in latest.items():
        assert rows(lake, ref) == rows_now, "maintenance changes no row"
    activities = by_table[ACTIVITIES.sql_name]
    years = {row["year"] for row in latest[ACTIVITIES]}
    assert activities.files_after == len(years), "one file per partition"
    assert len(activities.removed_files) >= 6
    assert activities.removed_log_entries > 0, "nothing pins activities: its old log goes"
    with pytest.raises(Exception, match=r"version 1 is no longer readable"):
        rows(lake, ACTIVITIES, 1)  # past the retention, pinned by nothing
    assert by_table[WINE.sql_name].removed_files, "small files no kept version reads are gone"
    unpinned = next(v for v in range(1, 6) if v not in {2, 4})
    with pytest.raises(Exception, match=r"(?i)not found|no such|does not exist|failed"):
        rows(lake, ML, unpinned)
    # What a user sees of such a version: one line saying why, in a query and the browser.
    from starlette.testclient import TestClient

    from agrolake.answers.query import query
    from agrolake.errors import UsageError
    from agrolake.ui.webapp import create_app

    for old in (unpinned, 1):
        with pytest.raises(UsageError, match=f"version {old} is no longer readable"):
            query(lake, f"SELECT count(*) FROM {ML.sql_name}", {ML.sql_name: old})
    browser = TestClient(create_app(lake), raise_server_exceptions=False)
    page = browser.get(f"/api/tables/{ML.sql_name}?version={unpinned}")
    assert page.status_code in (404, 410) and "no longer readable" in page.json()["error"]
    assert lake.catalog.upkeep.maintained()[ML.sql_name] == by_table[ML.sql_name].version_after

    # delta-rs's own checkpoint and log cleanup afterwards keep the pinned log too: the
    # tables say their log is kept (no expired-log cleanup; ten years of retention).
    for ref in (ML, WINE):
        table = DeltaTable(lake.tables.uri(ref), storage_options=lake.tables.storage_options)
        table.create_checkpoint()
        table.cleanup_metadata()
    for ref, version in pinned:
        assert rows(lake, ref, version) == before[ref, version]


def test_maintenance_with_a_writer_running_loses_no_commit(lake: Lake, tmp_path: Path) -> None:
    """A writer replaces ingests' rows in the wine table (as trusted does) while maintenance
    compacts and vacuums it: every commit of the writer ends in the table (a compaction
    that wins a race makes the writer try again on the new snapshot, and the reverse)."""
    wine = write_wine_quality(tmp_path / "w.csv", rows=3).read_bytes()
    lake.store.put("landing", "vinos.csv", wine)
    run_all(lake)
    template = lake.tables.read(WINE)
    assert template is not None
    commits = 15
    failures: list[BaseException] = []
    written: list[int] = []
    done = threading.Event()

    def write() -> None:
        try:
            for i in range(commits):
                ingest = f"writer-{i:03d}"
                column = template.schema.get_field_index("_ingest_id")
                rows_i = template.set_column(
                    column, "_ingest_id", pa.array([ingest] * template.num_rows)
                )
                written.append(
                    lake.tables.replace_where(WINE, rows_i, where_in("_ingest_id", [ingest]))
                )
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    compactions: list[int] = []
    while not done.is_set() or not compactions:
        # The default grace: files of the writer not yet committed are new.
        [upkeep] = maintain(lake, [WINE.sql_name]).tables
        if upkeep.compacted_files and upkeep.checkpoint is not None:
            compactions.append(upkeep.checkpoint)
    writer.join()

    assert failures == []
    data = lake.tables.read(WINE)
    assert data is not None
    ids = data.column("_ingest_id").to_pylist()
    for i in range(commits):
        assert ids.count(f"writer-{i:03d}") == template.num_rows, f"commit {i} kept, once"
    assert any(written[0] < v < written[-1] for v in compactions), "compactions between writes"


def test_a_run_maintains_a_table_after_its_commit_count(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(local_lake.settings.model_copy(update={"maintain_after_commits": 3}))
    for i in range(3):
        data = write_wine_quality(tmp_path / f"w{i}.csv", rows=3, seed=i).read_bytes()
        lake.store.put("landing", f"vinos_{i}.csv", data)
        summary = run_all(lake)
    assert summary.maintained is not None, "the third run found three commits since"
    maintained = lake.catalog.upkeep.maintained()
    assert maintained[WINE.sql_name] >= 3 and ML.sql_name in maintained
    assert "maintain: " in summary.lines()[-1]
    lake.store.put("landing", "vinos_3.csv", write_wine_quality(tmp_path / "w3.csv", rows=3,
                   seed=3).read_bytes())  # fmt: skip
    assert run_all(lake).maintained is None, "one commit since: not due"


def test_cli_maintain_json_and_dry_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    lake = Lake.from_env()
    lake.init()
    lake.store.put(
        "landing", "vinos.csv", write_wine_quality(tmp_path / "w.csv", rows=3).read_bytes()
    )
    run_all(lake)
    code, out, err = cli(capsys, monkeypatch, "maintain", "--dry-run", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dry_run"] is True and report["keep_days"] == 7
    assert {t["table"] for t in report["tables"]} >= {WINE.sql_name, ML.sql_name}
    first = report["tables"][0]
    assert set(first) >= {
        "version_before", "files_before", "compacted_files", "kept_versions", "removed",
        "removed_bytes", "removed_log_entries", "pinned", "properties_set",
    }  # fmt: skip
    code, _, err = cli(capsys, monkeypatch, "maintain", "--table", "trusted.nada")
    assert code == 1 and err.strip().startswith("error: no table 'trusted.nada'")
    code, out, err = cli(capsys, monkeypatch, "maintain", "--table", WINE.sql_name)
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"{WINE.sql_name} v1: 1 files")
    assert out.splitlines()[-1].startswith("maintain: 1 tables")
