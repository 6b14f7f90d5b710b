"""Every page of the lake browser and its JSON, on the demo lake (plus bad values, HTML
in a file name and a cell, and a trained model), on both backends."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pyarrow.parquet as pq
import pytest
from starlette.testclient import TestClient

from tests.ui.conftest import HTML_NAME, HTML_TASK, Browsed

PAGES = [
    # page, its JSON, text the page must show
    ("/", "/api/overview", "trusted.erp_activities"),
    ("/datasets", "/api/datasets", "erp.parcels_and_treatments"),
    ("/datasets/erp.activities", "/api/datasets/erp.activities", "actividades_html.csv"),
    ("/tables/trusted.erp_parcels", "/api/tables/trusted.erp_parcels", "enclosure_id"),
    ("/invalid", "/api/invalid", "exportacion_vacia.csv"),
    ("/quarantine", "/api/quarantine", "ndvi_valores_malos.csv"),
    ("/lineage?table=refined.ml_wine_quality", "/api/lineage/graph?table=refined.ml_wine_quality",
     "winequality-red.csv"),
    ("/models", "/api/models", "wine-quality"),
    ("/twin", "/api/twin", "50-73-0-0-25-338-3"),
    ("/twin/50-73-0-0-25-338-3", "/api/twin/50-73-0-0-25-338-3", "Lauranne"),
    ("/quality", "/api/quality", "winequality_valores_malos.csv"),
]  # fmt: skip


def get_json(client: TestClient, path: str) -> Any:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.text[:500])
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


@pytest.mark.parametrize(("page", "api", "shown"), PAGES)
def test_every_page_renders_and_has_its_json(
    client: TestClient, page: str, api: str, shown: str
) -> None:
    answer = client.get(page)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert shown in answer.text
    assert f'href="{api.replace("&", "&amp;")}"' in answer.text, "the page links its JSON"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert shown in json.dumps(get_json(client, api), ensure_ascii=False)


def test_json_answers_keep_the_cli_shapes(client: TestClient, browsed_lake: Browsed) -> None:
    from agrolake.answers import provenance, reports
    from agrolake.answers.quality import quality_reports

    lake = browsed_lake.lake
    status = get_json(client, "/api/status")
    assert status == json.loads(json.dumps(reports.status(lake), default=str))
    assert get_json(client, "/api/overview")["status"]["landing"]["invalid"] == 6
    assert len(get_json(client, "/api/invalid")) == 6
    assert get_json(client, "/api/quality") == json.loads(json.dumps(quality_reports(lake)))
    model = get_json(client, "/api/lineage?model=wine-quality@champion")
    assert model == json.loads(json.dumps(provenance.of_model(lake, "wine-quality@champion")))
    [wine] = get_json(client, "/api/lineage?file=winequality-red.csv")
    assert {"trusted.lab_wine_quality", "refined.ml_wine_quality"} <= {
        t["table"] for t in wine["tables"]
    }
    shown = get_json(client, "/api/datasets/erp.activities")
    assert {"declaration", "tables", "files"} <= set(shown)
    assert {f["original_name"] for f in shown["files"]} >= {"actividades_html.csv"}


def test_a_table_at_any_version_a_page_at_a_time_and_as_downloads(client: TestClient) -> None:
    latest = get_json(client, "/api/tables/trusted.erp_activities?page_size=20&page=2")
    assert latest["version"] == latest["latest_version"]
    assert latest["preview"]["page"] == 2 and len(latest["preview"]["rows"]) == 20
    assert latest["preview"]["total_rows"] == 209
    assert [h["version"] for h in latest["history"]][-1] == 0
    added = {i["original_name"] for h in latest["history"] for i in h["ingests"]}
    assert {"Actividades_PYSTACIL.xlsx", "actividades_html.csv"} <= added
    first = next(h["version"] for h in reversed(latest["history"]) if h["ingests"])
    old = get_json(client, f"/api/tables/trusted.erp_activities?version={first}")
    assert old["version"] == first and old["preview"]["total_rows"] == 120
    checks = {(q["check"], q["column"]) for q in latest["quarantine"]}
    assert ("type:date", "activity_date") in checks

    path = "/tables/trusted.erp_activities/preview"
    parquet = client.get(f"{path}.parquet?page_size=20&page=2")
    assert parquet.status_code == 200
    rows = pq.read_table(io.BytesIO(parquet.content))
    assert rows.num_rows == 20 and rows.column_names == latest["preview"]["columns"]
    csv = client.get(f"{path}.csv?version={first}")
    assert csv.headers["content-disposition"].endswith(f'-v{first}-p1.csv"')
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("activity_date,year,task") and len(lines) == 51


def test_quarantined_rows_by_table_check_and_file(client: TestClient) -> None:
    report = get_json(client, "/api/quarantine")
    groups = {(g["table"], g["check"], g["original_name"]) for g in report["groups"]}
    assert ("trusted.remote_sensing_ndvi", "range:-1..1", "ndvi_valores_malos.csv") in groups
    assert ("trusted.lab_wine_quality", "range:0..10", "winequality_valores_malos.csv") in groups
    ndvi = get_json(client, "/api/quarantine?table=trusted.remote_sensing_ndvi&check=range:-1..1")
    [row] = ndvi["shown"]
    assert row["value"] == "6100" and row["column"] == "ndvi"
    assert json.loads(row["row"])["enclosure_id"] == "50-73-0-0-12-34-1"
    by_ingest = get_json(client, f"/api/quarantine?ingest={row['ingest_id']}")
    assert {g["original_name"] for g in by_ingest["groups"]} == {"ndvi_valores_malos.csv"}

    csv = client.get("/quarantine/rows.csv?table=trusted.lab_wine_quality")
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("table,row_index,column,check,value")
    assert ",n/a," in text and "'-1" not in text, "a plain negative number stays a number"
    table = pq.read_table(io.BytesIO(client.get("/quarantine/rows.parquet").content))
    assert table.num_rows == report["failures"]


def test_lineage_graph_from_a_file_reaches_the_model(client: TestClient) -> None:
    graph = get_json(client, "/api/lineage/graph?file=winequality-red.csv")
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"file", "ingest", "table", "model"}
    [model] = [n for n in graph["nodes"] if n["kind"] == "model"]
    assert model["aliases"] == ["challenger", "champion"]
    page = client.get("/lineage?file=winequality-red.csv").text
    assert '<svg class="lineage"' in page
    assert 'href="/lineage?model=wine-quality%2F1"' in page
    behind = get_json(client, "/api/lineage/graph?model=wine-quality/1")
    files = {n["label"] for n in behind["nodes"] if n["kind"] == "file"}
    assert {"winequality-red.csv", "winequality_valores_malos.csv"} <= files


def test_the_twin_of_an_enclosure(client: TestClient) -> None:
    found = get_json(client, "/api/twin?q=LAURANNE")["enclosures"]
    assert found and all(e["variety"] == "Lauranne" for e in found)
    twin = get_json(client, "/api/twin/50-73-0-0-25-338-3")
    [season] = twin["weather"]["seasons"]
    assert season["year"] == 2024 and len(season["days"]) == 245
    assert twin["ndvi"][0]["points"] and twin["treatments"][0]["product_name"]
    page = client.get("/twin/50-73-0-0-25-338-3").text
    assert page.count('<svg class="chart"') == 2 and "GLIFOSATO 36 SL" in page


@pytest.mark.parametrize(
    "path",
    [
        "/tables/trusted.nope", "/api/tables/nope", "/datasets/nope.nope", "/twin/1-2-3",
        "/api/twin/1-2-3", "/ingests/20991231T000000000000Z-00000000", "/lineage?file=nope.csv",
        "/lineage?model=nope@champion", "/lineage?table=trusted.erp_parcels&version=999",
        "/tables/trusted.erp_parcels?version=999", "/quarantine?table=trusted.nope", "/nope",
        "/tables/trusted.erp_parcels/preview.xlsx", "/api/quality?table=nope",
    ],
)  # fmt: skip
def test_unknown_names_are_404_pages(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404, answer.text[:300]
    if path.startswith("/api/"):
        assert "error" in answer.json()
    else:
        assert "Not found" in answer.text and '<nav aria-label="sections">' in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/tables/trusted.erp_parcels?version=x", "/tables/trusted.erp_parcels?page=0",
        "/api/tables/trusted.erp_parcels?page_size=100000", "/ingests/not-an-ingest",
        "/lineage", "/lineage?file=a&model=b", "/twin?q=" + "x" * 101,
        "/quarantine?ingest=<b>", "/tables/trusted.erp_parcels?version=" + "9" * 30,
    ],
)  # fmt: skip
def test_malformed_parameters_are_400_pages(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 400, answer.text[:300]


def test_html_in_a_file_name_and_a_cell_is_shown_as_text(client: TestClient) -> None:
    [rejected] = [f for f in get_json(client, "/api/invalid") if f["original_name"] == HTML_NAME]
    for page in ("/invalid", f"/ingests/{rejected['ingest_id']}"):
        text = client.get(page).text
        assert "&lt;img src=x onerror=alert(1)&gt;.csv" in text
        assert "<img src=x" not in text
    rows = client.get("/tables/trusted.erp_activities?page_size=500").text
    assert "&lt;script&gt;alert(&#34;agrolake&#34;)&lt;/script&gt;" in rows
    assert "<script" not in rows
    lineage = client.get("/lineage", params={"file": rejected["ingest_id"]}).text
    assert "&lt;img src=x" in lineage and "<img src" not in lineage
    shown = get_json(client, "/api/tables/trusted.erp_activities?page_size=500")["preview"]
    assert any(HTML_TASK in row for row in shown["rows"]), "JSON keeps the value as it is"


def test_cli_quality_and_query_fit_the_terminal(
    browsed_lake: Browsed, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agrolake.cli import main

    for name, value in browsed_lake.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> str:
        monkeypatch.setattr(sys, "argv", ["agrolake", *args])
        try:
            main()
        except SystemExit as exit_:
            assert not exit_.code, capsys.readouterr().err
        return capsys.readouterr().out

    reports = json.loads(run("quality", "--table", "trusted.lab_wine_quality", "--json"))
    bad = next(r for r in reports if r["original_name"] == "winequality_valores_malos.csv")
    assert bad["by_check"] == {"range:0..": 1, "range:0..10": 1, "type:float64": 1}
    assert (bad["rows_in"], bad["rows_written"], bad["rows_quarantined"]) == (8, 5, 3)
    one = json.loads(run("quality", bad["ingest_id"], "--json"))
    assert one == [bad]
    assert "failed checks: range:0.. ×1, range:0..10 ×1, type:float64 ×1" in run(
        "quality", bad["ingest_id"]
    )

    sql = "SELECT * FROM refined.digital_twin_enclosures ORDER BY enclosure_id LIMIT 5"
    for width in (80, 120, 250):
        monkeypatch.setenv("COLUMNS", str(width))
        lines = run("query", sql).splitlines()
        assert max(len(line) for line in lines) <= width
        assert "│ …" in lines[1] and "season_ndvi_max" in lines[1]
        assert lines[-1].startswith("5 rows  41 columns (")
    blocks = run("query", sql, "--vertical")
    assert blocks.count("─[ RECORD ") == 5 and "season_ndvi_max" in blocks
