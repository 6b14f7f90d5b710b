"""Odd keys, hostile names, outages and failing ingests: nothing stalls, crashes or leaks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from agrolake.answers.reports import status
from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.lake.spool import root as spool_root
from agrolake.lake.spool import sweep
from agrolake.lake.tables import first_line
from agrolake.pipeline import run_all
from agrolake.samples import write_activities, write_wine_quality
from tests.conftest import s3_env
from tests.outage_proxy import OutageProxy
from tests.services import S3Server
from tests.test_cli import cli


def wine(tmp_path: Path, seed: int) -> bytes:
    return write_wine_quality(tmp_path / f"w{seed}.csv", rows=5, seed=seed).read_bytes()


def put_raw_key(lake: Lake, key: str, data: bytes) -> None:
    """Put an object under a key obstore refuses (as any S3 client or user can)."""
    if lake.store.is_s3:
        import boto3

        client = boto3.client("s3", **lake.settings.s3.to_boto3())
        client.put_object(Bucket=lake.settings.bucket("landing"), Key=key, Body=data)
    else:
        path = lake.settings.lake_folder / lake.settings.bucket("landing") / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_odd_keys_and_folder_markers_block_nothing(lake: Lake, tmp_path: Path) -> None:
    odd = ["Informe\t2024.csv", "alarma\x07.csv", "borrar\x1b[2J.csv"]
    for i, key in enumerate(odd):
        put_raw_key(lake, key, wine(tmp_path, i))
    if lake.store.is_s3:
        put_raw_key(lake, "carpeta/", b"")  # a folder marker, as S3 consoles make them
    put_raw_key(lake, "invalid/subido_aqui.csv", wine(tmp_path, 8))  # not ours
    lake.store.put("landing", "vinos.csv", wine(tmp_path, 9))

    summary = run_all(lake)

    assert summary.landing.counts == {"raw": 1}, "the good file went through"
    assert sorted(summary.landing.unreadable) == sorted(odd)
    assert "3 keys skipped" in summary.landing.line()
    facts = status(lake)["landing"]
    assert facts["pending"] == 0 and sorted(facts["unreadable_keys"]) == sorted(odd)
    assert facts["folder_markers"] == (1 if lake.store.is_s3 else 0)
    assert facts["misplaced"] == 1


def test_names_with_markup_and_escapes_are_printed_as_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    lake = Lake(Settings())
    lake.init()
    lake.store.put("landing", "x[/].csv", b"a,b\n1,2\n")
    lake.store.put("landing", "[link=file:x]clic.csv", b"a,b\n1,2\n")
    put_raw_key(lake, "pantalla\x1b[2J.csv", b"a,b\n1,2\n")
    code, out, err = cli(capsys, monkeypatch, "run")
    assert code == 0, err
    assert "x[/].csv" in out and "[link=file:x]clic.csv" in out
    assert "\x1b[2J" not in out and "pantalla\\x1b[2J.csv" in out
    code, out, err = cli(capsys, monkeypatch, "invalid")  # a table: no markup error either
    assert code == 0 and "│ ].csv" in out and "\x1b" not in out


def test_ingest_uploads_what_it_can_and_names_the_rest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    folder = tmp_path / "exportes"
    (folder / "invalid").mkdir(parents=True)
    (folder / "bueno.csv").write_bytes(wine(tmp_path, 1))
    (folder / "con\ttab.csv").write_bytes(wine(tmp_path, 2))
    (folder / "invalid" / "mal_sitio.csv").write_bytes(wine(tmp_path, 3))
    secret = tmp_path / "fuera" / "secreto.csv"
    secret.parent.mkdir()
    secret.write_text("nif,clave\n1,2\n")
    (folder / "enlace.csv").symlink_to(secret)

    code, out, err = cli(capsys, monkeypatch, "ingest", str(folder))
    assert code == 1
    assert "ingest: 1 files" in out
    assert "con\\ttab.csv: its name holds control characters" in err
    assert "mal_sitio.csv: invalid/ is where agrolake keeps rejected files" in err
    assert err.strip().splitlines()[-1] == "error: 2 of 3 files were not uploaded (named above)"
    lake = Lake(Settings())
    keys = sorted(o.key for o in lake.store.list("landing"))
    assert keys == ["bueno.csv"], "the link was not followed, the bad names not stored"

    code, out, _ = cli(
        capsys, monkeypatch, "ingest", "--follow-symlinks", str(folder / "enlace.csv")
    )
    assert code == 0 and "ingest: 1 files" in out


def test_columns_trusted_could_not_keep_are_rejected_at_landing(
    local_lake: Lake, tmp_path: Path
) -> None:
    lines = write_activities(tmp_path / "a.csv", rows=5, seed=2).read_text().splitlines()

    def with_columns(*names: str) -> bytes:
        header = ",".join([lines[0], *names])
        body = [",".join([line, *("x" for _ in names)]) for line in lines[1:]]
        return ("\n".join([header, *body]) + "\n").encode()

    local_lake.store.put(
        "landing", "actividades_anchas.csv", with_columns(*(f"C{i}" for i in range(51)))
    )
    local_lake.store.put("landing", "actividades_choque.csv", with_columns("Foo Bar", "foo_bar"))
    local_lake.store.put("landing", "actividades_reservada.csv", with_columns("_row"))
    local_lake.store.put("landing", "actividades_campo.csv", with_columns("Task"))
    local_lake.store.put("landing", "actividades_bien.csv", with_columns("Operario"))

    summary = run_all(local_lake)

    codes = {
        o.landing_key: local_lake.catalog.get(o.ingest_id).details.get("code")  # type: ignore[union-attr]
        for o in summary.landing.outcomes
        if o.status == "invalid"
    }
    assert codes == {
        "actividades_anchas.csv": "too_many_new_columns",
        "actividades_choque.csv": "bad_column_names",
        "actividades_reservada.csv": "bad_column_names",
        "actividades_campo.csv": "bad_column_names",
    }
    assert summary.trusted.failed == {} and len(summary.trusted.ingests) == 1


def test_an_ingest_that_breaks_trusted_fails_alone_and_is_given_up(
    local_lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any error (a polars one here) is the ingest's reason; at the last attempt it is
    given up, counted in status, and `retry` sends it back."""
    import agrolake.zones.trusted as trusted

    for i in range(3):
        local_lake.store.put("landing", f"vinos_{i}.csv", wine(tmp_path, 20 + i))
    run_all_landing = run_all(local_lake)
    assert run_all_landing.landing.counts == {"raw": 3}
    # Start over: the three raw ingests wait for trusted; one of them breaks it.
    local_lake.catalog.retry_failed()
    for row in local_lake.catalog.find(status="trusted"):
        local_lake.catalog.mark(row.ingest_id, "raw")  # type: ignore[arg-type]
    [bad, *_] = local_lake.catalog.find(status="raw")
    real = trusted.clean_ingest

    def breaks(lake, dataset, table, ingest, raw):  # type: ignore[no-untyped-def]
        if ingest.ingest_id == bad.ingest_id:
            raise pl.exceptions.ComputeError("found more fields than defined in 'Schema'")
        return real(lake, dataset, table, ingest, raw)

    monkeypatch.setattr(trusted, "clean_ingest", breaks)
    monkeypatch.setattr(trusted, "RETRY_AFTER", __import__("datetime").timedelta(0))
    for attempt in range(1, 4):
        summary = trusted.process_trusted(local_lake)
        reasons = summary.given_up if attempt == 3 else summary.failed
        assert reasons == {bad.ingest_id: "unexpected ComputeError: found more fields than "
                           "defined in 'Schema'"}, attempt  # fmt: skip
    assert status(local_lake)["stages"]["trusted"] == {"claimed": 0, "waiting": 0, "failed": 1}
    assert local_lake.catalog.get(bad.ingest_id).status == "failed"  # type: ignore[union-attr]

    monkeypatch.setattr(trusted, "clean_ingest", real)
    assert local_lake.catalog.retry_failed([bad.ingest_id]) == [bad.ingest_id]
    assert trusted.process_trusted(local_lake).ingests == [bad.ingest_id]


@pytest.mark.slow
def test_an_s3_outage_stops_the_run_with_what_it_did_and_the_next_run_finishes(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = s3_server.endpoint_url.removeprefix("http://").split(":")
    with OutageProxy((host, int(port))) as proxy:
        env = s3_env(s3_server, f"o{secrets.token_hex(5)}") | {
            "AGROLAKE_S3_ENDPOINT_URL": proxy.url,
            "AGROLAKE_HOME": str(tmp_path / "home"),
            "AGROLAKE_STORAGE_TIMEOUT_SECONDS": "3",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        lake = Lake(Settings())
        lake.init()
        for i in range(8):
            lake.store.put("landing", f"vinos_{i}.csv", wine(tmp_path, 40 + i))

        def outage_after_three(_: object) -> None:
            if len(landed) == 3:
                proxy.down()
            landed.append(_)

        landed: list[object] = []
        summary = run_all(lake, on_outcome=outage_after_three)
        assert summary.stopped is not None and f"127.0.0.1:{proxy.port}" in summary.stopped
        assert summary.landing.counts.get("raw") == 4
        assert "\n" not in summary.stopped and "\x1b" not in summary.stopped
        assert summary.trusted.ingests == [], "nothing further was tried"

        proxy.up()
        again = run_all(lake)
        assert again.stopped is None
        rows = lake.catalog.find(status="trusted")
        assert sorted(r.landing_key for r in rows) == [f"vinos_{i}.csv" for i in range(8)]
        lake.close()


def test_commands_name_the_unreachable_store_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGROLAKE_STORAGE_URL", "s3://")
    monkeypatch.setenv("AGROLAKE_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AGROLAKE_STORAGE_TIMEOUT_SECONDS", "2")
    code, _, err = cli(capsys, monkeypatch, "status")
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("error: ") and "127.0.0.1:9" in line


def test_delta_errors_are_one_line_without_colours() -> None:
    raw = OSError(
        "Kernel error -> Generic S3 error\n          \x1b[31m↳\x1b[0m Error performing GET "
        "http://127.0.0.1:9/t in 3s\n          \x1b[31m↳\x1b[0m Connection refused"
    )
    assert first_line(raw) == "Error performing GET http://127.0.0.1:9/t in 3s"


def test_spool_folders_of_dead_processes_are_removed() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    leftover = spool_root() / f"{dead.stdout.strip()}-landing-0badc0de"
    (leftover / "20261130T000000000000Z-00000000").mkdir(parents=True)
    mine = spool_root() / f"{os.getpid()}-landing-feedface"
    mine.mkdir(parents=True, exist_ok=True)
    removed = sweep()
    assert leftover in removed and not leftover.exists()
    assert mine.exists(), "a live process's folder stays"
    mine.rmdir()
