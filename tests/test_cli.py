"""The command line as users call it: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
import sys

import pytest

from agrolake.cli import main


def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """``agrolake ARGS`` in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["agrolake", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    return lambda *args: cli(capsys, monkeypatch, *args)


def test_demo_then_status_invalid_and_replay_json_shapes(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("demo")
    assert code == 0
    assert "landing: 16 files → invalid 5, raw 11" in out
    preview = out[out.index("digital twin: season weather and NDVI") :]
    assert "rain_mm" in preview and "frost" in preview and "ndvi_mean" in preview
    assert preview.count("│ 245 ") == 8, "eight enclosures, each with a full season of weather"

    code, out, _ = run("status", "--json")
    status = json.loads(out)
    assert status["landing"] == {
        "pending": 0, "in_progress": 0, "invalid": 5,
        "unreadable_keys": [], "folder_markers": 0, "misplaced": 0,
    }  # fmt: skip
    assert status["stages"] == {
        "landing": {"claimed": 0, "waiting": 0},
        "trusted": {"claimed": 0, "waiting": 0, "failed": 0},
    }
    assert status["raw"]["objects"] == 11
    assert status["raw"]["by_dataset"] == {
        "erp.activities": 2,
        "erp.parcels_and_treatments": 1,
        "lab.wine_quality": 2,
        "remote_sensing.ndvi_files": 1,
        "remote_sensing.ndvi_service": 1,
        "weather.aemet_daily": 2,
        "weather.open_meteo_daily": 2,
    }
    assert {"trusted.weather_daily", "trusted.remote_sensing_ndvi"} <= set(status["trusted"])
    assert status["duplicates"] == 0

    code, out, _ = run("invalid", "--json")
    rejected = json.loads(out)
    assert len(rejected) == 5
    for item in rejected:
        assert set(item) == {
            "key",
            "original_name",
            "ingest_id",
            "rejected_at",
            "reason",
            "details",
        }
        assert item["key"].startswith("invalid/") and item["ingest_id"] in item["key"]
        assert item["reason"] and "\n" not in item["reason"]
        assert item["details"]["code"] and item["details"]["original_name"] == item["original_name"]
    codes = sorted(item["details"]["code"] for item in rejected)
    assert codes == ["empty_file", "missing_columns", "no_rows", "unknown_dataset", "unreadable"]

    code, out, _ = run("replay", rejected[0]["key"], rejected[1]["ingest_id"])
    assert code == 0 and "2 files back in landing" in out
    code, out, _ = run("replay", "--all")
    assert code == 0 and "3 files back in landing" in out
    status = json.loads(run("status", "--json")[1])
    assert status["landing"]["pending"] == 5 and status["landing"]["invalid"] == 0

    code, out, _ = run("run", "--json")
    assert json.loads(out)["landing"] == {"invalid": 5}


def test_run_twice_reports_duplicates(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agrolake.samples import write_wine_quality

    wine = write_wine_quality(tmp_path / "vino.csv", rows=10)
    assert run("ingest", str(wine))[0] == 0
    assert run("run")[0] == 0
    assert run("ingest", str(wine))[0] == 0
    code, out, _ = run("run")
    assert code == 0 and "duplicate 1" in out
    assert json.loads(run("status", "--json")[1])["duplicates"] == 1


def test_ingest_keeps_both_files_with_one_name(run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.csv").write_text("1")
    (tmp_path / "b" / "x.csv").write_text("2")
    run("ingest", str(tmp_path / "a" / "x.csv"), str(tmp_path / "b" / "x.csv"))
    assert json.loads(run("status", "--json")[1])["landing"]["pending"] == 2


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("ingest", "/no/such/file.csv"), {}, "error: no such file or folder: /no/such/file.csv"),
        (("replay",), {}, "error: give the keys to replay, or --all"),
        (("replay", "nope"), {}, "error: not a rejected file: nope"),
        (
            ("status",),
            {"AGROLAKE_MAX_FILE_MB": "many"},
            "error: invalid settings: AGROLAKE_MAX_FILE_MB",
        ),
        (
            ("status",),
            {"AGROLAKE_CATALOG_URL": "postgresql+psycopg://u:topsecret@/x?host=/nonexistent"},
            "error: catalog postgresql+psycopg://u:***@",
        ),
        (("fetch", "rain"), {}, "error: fetch takes weather or ndvi, not 'rain'"),
        (
            ("fetch", "weather", "--since", "1/3/2024"),
            {},
            "error: --since takes a date as YYYY-MM-DD, not '1/3/2024'",
        ),
        (("fetch", "ndvi"), {}, "error: no NDVI service configured: set AGROLAKE_NDVI_URL"),
        (
            ("fetch", "weather"),
            {"AGROLAKE_SEASON_END": "10-32"},
            "error: invalid settings: AGROLAKE_SEASON_END",
        ),
        (
            ("fetch", "weather"),
            {"AGROLAKE_LOCATIONS_FILE": "/no/locations.csv"},
            "error: cannot read the locations file /no/locations.csv",
        ),
    ],
)
def test_errors_are_one_line_and_non_zero(run, monkeypatch, args, env, message) -> None:  # type: ignore[no-untyped-def]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(*args)
    assert code == 1
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    assert "topsecret" not in err and "Traceback" not in err


def test_verbose_shows_the_traceback(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("--verbose", "ingest", "/no/such/file.csv")
    assert code == 1 and "Traceback" in err


def test_unknown_command_is_a_usage_error(run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("frobnicate")
    assert code == 2 and "No such command" in err


@pytest.fixture
def open_meteo(monkeypatch):  # type: ignore[no-untyped-def]
    from tests.fake_apis import FakeOpenMeteo

    server = FakeOpenMeteo()
    for name, value in {
        "AGROLAKE_OPEN_METEO_URL": server.archive_url,
        "AGROLAKE_WEATHER_START_DATE": "2024-03-01",
        "AGROLAKE_API_BACKOFF_SECONDS": "0.01",
        "AGROLAKE_API_BATCH_PAUSE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def test_fetch_weather_lands_and_processes_with_its_json_shape(run, open_meteo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agrolake.samples import write_parcels_and_treatments

    farm = write_parcels_and_treatments(tmp_path / "Recintos.xlsx", rows=3, seed=5)
    run("ingest", str(farm))
    run("run")

    code, out, err = run("fetch", "weather", "--until", "2024-03-05", "--json")

    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"fetch", "run"}
    fetched = result["fetch"]
    assert set(fetched) == {
        "source", "requests", "landed", "empty", "up_to_date", "unknown", "failed", "seconds",
    }  # fmt: skip
    assert fetched["failed"] == {} and len(fetched["landed"]) == len(fetched["requests"]) > 0
    assert set(fetched["landed"][0]) == {"subject", "start", "end", "key", "rows"}
    assert fetched["landed"][0]["rows"] == 5
    assert result["run"]["landing"] == {"raw": len(fetched["landed"])}
    tables = {w["table"] for w in result["run"]["trusted"] + result["run"]["refined"]}
    assert {"trusted.weather_daily", "refined.digital_twin_enclosures"} <= tables

    code, out, _ = run("fetch", "weather", "--until", "2024-03-05")
    assert code == 0 and "up to date" in out


def test_fetch_failures_are_one_line_each_and_non_zero(run, open_meteo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agrolake.samples import write_parcels_and_treatments

    farm = write_parcels_and_treatments(tmp_path / "Recintos.xlsx", rows=1, seed=5)
    run("ingest", str(farm))
    run("run")
    open_meteo.fail_next("500", "500", "500")

    code, out, err = run("fetch", "weather", "--until", "2024-03-05")

    assert code == 1
    assert "weather (Open-Meteo): 1 request → 0 landed" in out and "1 failed" in out
    [line] = err.strip().splitlines()
    assert line.startswith("error: weather (Open-Meteo): 1 of 1 requests failed; nothing landed")
    assert "answered 500 Internal Server Error" in line and "Traceback" not in err
