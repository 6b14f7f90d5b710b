"""``agrolake datasets …`` as users call it: one source added with one command, JSON shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_cli import cli

SAMPLE = "Parcela;Fecha;Peso (kg)\n00123;15/09/2024;1.234,5\n00124;16/09/2024;98,5\n"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    return lambda *args: cli(capsys, monkeypatch, *args)


def test_infer_then_run_adds_a_source_with_no_package_edit(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sample = tmp_path / "pistachos.csv"
    sample.write_text(SAMPLE)
    code, out, err = run(
        "datasets", "infer", str(sample), "--id", "farm.pistachio", "--key", "Parcela"
    )
    assert code == 0, err
    written = Path(out.strip())
    assert written == tmp_path / "home" / "datasets" / "farm.pistachio.yaml"
    assert "inferred 3 fields from 2 rows" in err
    code, _, err = run("datasets", "infer", str(sample), "--id", "farm.pistachio")
    assert code == 1 and "farm.pistachio is declared in" in err and "--force" in err
    code, _, err = run("datasets", "infer", str(sample), "--id", "erp.activities")
    assert code == 1 and err.strip() == (
        "error: erp.activities is a built-in dataset; choose another --id"
    )

    code, out, _ = run("datasets", "check", str(sample), "--json")
    checked = json.loads(out)
    assert (checked["dataset"], checked["format"], checked["code"]) == (
        "farm.pistachio",
        "csv",
        None,
    )
    assert checked["candidates"][0] == {
        "dataset": "farm.pistachio", "coverage": 1.0, "name_matches": False,
        "required_columns": 3, "missing_columns": {}, "sheets": [], "known_columns": 3,
    }  # fmt: skip

    assert run("ingest", str(sample))[0] == 0
    code, out, _ = run("run", "--json")
    assert json.loads(out)["trusted"] == [
        {"table": "trusted.farm_pistachio", "version": 1, "rows": 2, "quarantined": 0}
    ]
    code, out, _ = run(
        "query", "SELECT peso_kg FROM trusted.farm_pistachio ORDER BY 1", "--format", "csv"
    )
    assert out.splitlines() == ["peso_kg", "98.5", "1234.5"]

    code, out, _ = run("datasets", "list", "--json")
    listed = json.loads(out)
    assert set(listed) == {"datasets", "orphaned", "problems"}
    [mine] = [d for d in listed["datasets"] if d["id"] == "farm.pistachio"]
    assert mine == {
        "id": "farm.pistachio", "builtin": False, "origin": str(written), "enabled": True,
        "provider": "farm", "formats": ["csv"], "name_pattern": None,
        "tables": [{"name": "trusted.farm_pistachio", "sheet": None, "key": ["parcela"],
                    "write": "merge"}],
    }  # fmt: skip
    assert {d["id"] for d in listed["datasets"] if d["builtin"]} >= {"erp.activities"}

    code, out, _ = run("datasets", "show", "farm.pistachio", "--json")
    shown = json.loads(out)
    [table] = shown["tables"]
    assert table["raw_columns"] == {"required": ["Parcela", "Fecha", "Peso (kg)"], "optional": []}
    assert table["schema"][1] == {
        "name": "fecha", "type": "Date", "nullable": True, "source": "Fecha",
        "personal": False, "checks": ["type:date"],
    }  # fmt: skip
    assert shown["declaration"]["tables"][0]["fields"][2]["decimal"] == ","


def test_a_bad_declaration_is_one_warning_and_the_rest_work(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "home" / "datasets"
    folder.mkdir(parents=True)
    (folder / "roto.yaml").write_text(
        "id: farm.roto\ntables:\n  - fields: [{name: a, type: text}]\n"
    )
    code, out, err = run("datasets", "list", "--json")
    assert code == 0
    [problem] = json.loads(out)["problems"]
    assert problem["key"] == "tables[0].fields[0] (a).type"
    assert "roto.yaml: tables[0].fields[0] (a).type: Input should be" in err.splitlines()[0]
    code, out, _ = run("status", "--json")
    assert json.loads(out)["declarations"]["problems"][0].startswith(str(folder / "roto.yaml"))
    code, _, err = run("run")
    assert code == 0 and f"warning: {folder / 'roto.yaml'}: tables[0]" in err


def test_show_and_check_refuse_what_does_not_exist(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("datasets", "show", "farm.nada")
    assert code == 1 and err.startswith("error: no dataset 'farm.nada'; known datasets: ")
    code, _, err = run("datasets", "check", str(tmp_path / "nada.csv"))
    assert code == 1 and err.strip() == f"error: no such file: {tmp_path / 'nada.csv'}"
    other = tmp_path / "otra.csv"
    other.write_text("x,y\n1,2\n")
    code, out, _ = run("datasets", "check", str(other), "--json")
    assert code == 0 and json.loads(out)["code"] == "unknown_dataset"


def test_the_quarantine_table_exists_from_init(run) -> None:  # type: ignore[no-untyped-def]
    assert run("init")[0] == 0
    code, out, err = run(
        "query", "SELECT count(*) AS n FROM trusted.quarantine_rows", "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out) == [{"n": 0}]
