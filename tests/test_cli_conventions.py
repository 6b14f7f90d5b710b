"""The command line behaves like the Click tools users know: ``--version``, completion,
value names in help, one-line usage errors with Click's suggestion, ``config``,
warnings for mistyped settings, a bounded catalog lock wait, progress bars."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
import typer.main
from rich.console import Console

from agrolake.cli import app
from agrolake.lake.settings_sources import known_variables
from tests.test_cli import cli


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGROLAKE_HOME", str(tmp_path / "home"))
    return lambda *args: cli(capsys, monkeypatch, *args)


def test_version(run) -> None:  # type: ignore[no-untyped-def]
    from importlib.metadata import version

    assert run("--version") == (0, f"agrolake {version('agrolake')}\n", "")


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return sorted(group.commands)


@pytest.mark.parametrize("command", ["", *_commands()])
def test_help_names_values_as_click_does(run, command: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(*([command] if command else []), "--help")

    assert code == 0, err
    assert "<" not in out and "list[" not in out, out  # no <bool>, <list[Path]>, <int>
    expected = {
        "ingest": ["PATHS", "PATH"],
        "query": ["SQL", "TEXT"],
        "train": ["FLOAT", "INTEGER"],
        "demo": ["PATH"],
        "": ["--version", "--install-completion", "--show-completion"],
    }
    for name in expected.get(command, []):
        assert name in out, (command, name)


def test_shell_completion_completes_commands(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("_AGROLAKE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "agrolake stat")
    monkeypatch.setenv("COMP_CWORD", "1")
    code, out, _ = run()
    assert code == 0 and out.split() == ["status"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["stauts"], "error: No such command 'stauts'. Did you mean 'status'? (see 'agrolake "),
        (["status", "--jsn"], "error: No such option: --jsn (Possible options: --json)"),
        (["ingest"], "error: Missing argument 'PATHS'. (see 'agrolake ingest --help')"),
        (["train", "--alpha", "much"], "error: Invalid value for '--alpha': "),
    ],
)  # fmt: skip
def test_a_usage_mistake_is_one_line_with_clicks_suggestion(
    run, args: list[str], line: str
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(*args)

    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith(line), err
    assert "unexpected" not in err and out == ""


def test_config_shows_every_setting_its_source_and_masks_secrets(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGROLAKE_S3_SECRET_ACCESS_KEY", "topsecret-key")
    monkeypatch.setenv("AGROLAKE_BATCH_SIZE", "7")
    Path(".env").write_text(
        "AGROLAKE_CATALOG_URL=postgresql+psycopg://farm:topsecret-db@db:5432/lake\n"
        "AGROLAKE_SMTP_PASSWORD=topsecret-mail\n"
    )

    code, out, err = run("config", "--json")

    assert code == 0, err
    assert "topsecret" not in out
    found = {item["variable"]: item for item in json.loads(out)}
    assert sorted(found) == known_variables()
    assert (
        found["AGROLAKE_S3_SECRET_ACCESS_KEY"] | {"value": "********"}
        == found["AGROLAKE_S3_SECRET_ACCESS_KEY"]
    )
    assert found["AGROLAKE_S3_SECRET_ACCESS_KEY"]["source"] == "environment"
    assert (found["AGROLAKE_BATCH_SIZE"]["value"], found["AGROLAKE_BATCH_SIZE"]["source"]) == (
        7,
        "environment",
    )
    assert found["AGROLAKE_CATALOG_URL"]["value"] == (
        "postgresql+psycopg://farm:********@db:5432/lake"
    )
    assert found["AGROLAKE_CATALOG_URL"]["source"] == ".env"
    assert (
        found["AGROLAKE_SMTP_PASSWORD"] | {"value": "********", "source": ".env"}
        == found["AGROLAKE_SMTP_PASSWORD"]
    )
    assert (
        found["AGROLAKE_LEASE_SECONDS"] | {"value": 30, "source": "default"}
        == found["AGROLAKE_LEASE_SECONDS"]
    )
    assert all(item["description"] for item in found.values())

    code, out, _ = run("config")
    assert code == 0 and "AGROLAKE_BATCH_SIZE" in out and "topsecret" not in out


def test_an_unknown_agrolake_variable_is_a_warning_with_the_likely_name(run, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGROLAKE_HOMEE", "/somewhere")
    Path(".env").write_text("AGROLAKE_BACH_SIZE=3\n")

    code, out, err = run("config", "--json")

    assert code == 0
    assert err.splitlines() == [
        "warning: AGROLAKE_HOMEE (from the environment) is not an agrolake setting; "
        "did you mean AGROLAKE_HOME?",
        "warning: AGROLAKE_BACH_SIZE (from .env) is not an agrolake setting; "
        "did you mean AGROLAKE_BATCH_SIZE?",
    ]
    assert json.loads(out)  # the command still ran


def test_a_locked_catalog_is_announced_and_given_up_on(run, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("init")[0] == 0
    monkeypatch.setenv("AGROLAKE_CATALOG_LOCK_TIMEOUT_SECONDS", "1.5")
    holder = sqlite3.connect(tmp_path / "home" / "catalog.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, as far as SQLite knows
    try:
        code, _, err = run("status")
    finally:
        holder.rollback()
        holder.close()

    catalog = tmp_path / "home" / "catalog.db"
    assert code == 1
    assert err.splitlines() == [
        f"warning: waiting for the catalog {catalog}: another agrolake process holds its "
        "write lock (giving up after 1.5 s)",
        f"error: the catalog {catalog} stayed locked by another agrolake process for 1.5 s; "
        "try again when it is done (AGROLAKE_CATALOG_LOCK_TIMEOUT_SECONDS sets the wait)",
    ]
    assert run("status")[0] == 0  # released: it works again


def test_bars_draw_in_a_terminal_only_and_landing_ends_at_its_count(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from agrolake import terminal

    drawn = io.StringIO()
    monkeypatch.setattr(terminal, "err", Console(file=drawn, force_terminal=True, width=100))
    with terminal.landing_bar() as hooks:
        hooks.on_listed(3)
        for _ in range(3):
            hooks.on_outcome(None)
        hooks.on_listed(0)  # landing lists again when done: nothing new
    with terminal.progress_bar("training") as step:
        step("fitting elasticnet", 1, 5)
        step("", 5, 5)
    with terminal.progress_bar("training", enabled=False) as step:  # --json
        step("quiet", 1, 5)

    screen = drawn.getvalue()
    assert "landing" in screen and "3/3" in screen and "0/0" not in screen
    assert "training" in screen and "5/5" in screen and "quiet" not in screen

    piped = io.StringIO()
    monkeypatch.setattr(terminal, "err", Console(file=piped))  # not a terminal
    with terminal.progress_bar("training") as step:
        step("fitting", 1, 5)
    assert piped.getvalue() == ""
