"""The ``agrolake`` command line: one line per failure, ``--json`` for machines.

It behaves like the Click tools users know: ``--version``, shell completion
(``--install-completion``), value names in help (``PATH``, ``TEXT``), one ``error:``
line with Click's suggestion for a mistyped command or option.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agrolake.cli_datasets import app as datasets_app
from agrolake.click_style import ClickStyleGroup
from agrolake.errors import AgrolakeError, StorageUnavailable
from agrolake.lake.naming import printable
from agrolake.stack.commands import app as stack_app
from agrolake.terminal import (
    counting_bar,
    err,
    error_line,
    landing_bar,
    progress_bar,
    show_library_warnings,
    warn_unknown_settings,
)

if TYPE_CHECKING:
    from agrolake.lake import Lake
    from agrolake.pipeline import RunSummary

app = typer.Typer(
    help="agrolake: a zoned data lake for agricultural digital twins.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ClickStyleGroup,
)
app.add_typer(datasets_app, name="datasets")
# No markup: file names, reasons and cell values are printed as they are, so a name
# such as "x[/].csv" or "[link=…]" stays text (styles are given as Text, below).
out = Console(soft_wrap=True, markup=False)


def _say(console: Console, label: str, style: str, text: str) -> None:
    """``  label text`` with the label styled and the text escaped."""
    console.print(Text.assemble("  ", (label, style), " ", printable(text)), highlight=False)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
app.add_typer(stack_app, name="stack")


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"agrolake {version('agrolake')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Global options (read again by main() to decide on tracebacks)."""


def _lake(*, catalog: bool = True) -> Lake:
    """The lake, its catalog up to date unless the command needs none (``ingest``).

    No bucket is created: only ``init`` does (and ``demo``, a set-up of its own), so
    every other command works with a key limited to its role (docs/security.md).
    """
    # Imported here: `agrolake --help` should not wait for polars, delta-rs and friends.
    from agrolake.lake import Lake

    lake = Lake.from_env()
    if catalog:
        lake.ready()
    return lake


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@app.command()
def init() -> None:
    """Create the zone buckets and the catalog tables (safe to run again)."""
    from agrolake.lake import Lake

    lake = Lake.from_env()
    buckets = lake.init(tables=True)
    out.print(f"ready: buckets {', '.join(buckets)}; catalog up to date")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to upload to landing.")],
    follow_symlinks: Annotated[
        bool, typer.Option(help="Follow links inside folders (they may point outside them).")
    ] = False,
) -> None:
    """Upload files (or every file in folders) into the landing zone."""
    from agrolake.errors import UsageError
    from agrolake.zones.uploads import Skipped, files_under, upload

    # Uploads need only a key that may put into landing: no catalog, no other bucket.
    lake = _lake(catalog=False)
    total = sum(1 for _ in files_under(paths, follow_symlinks=follow_symlinks))
    skipped: list[Skipped] = []
    with counting_bar("uploading", total) as advance:
        done = upload(
            lake, paths, on_upload=lambda _: advance(),
            follow_symlinks=follow_symlinks, skipped=skipped,
        )  # fmt: skip
    size = sum(u.size for u in done)
    out.print(f"ingest: {len(done)} files ({size / 1e6:.1f} MB) into landing")
    for item in skipped:
        _say(err, "not uploaded", "red", f"{item.path}: {item.reason}")
    if skipped:
        raise UsageError(f"{len(skipped)} of {total} files were not uploaded (named above)")


@app.command()
def run(json_output: JsonFlag = False) -> None:
    """Process everything pending: landing → raw (or invalid) → trusted → refined."""
    from agrolake.pipeline import run_all

    lake = _lake()
    with landing_bar(enabled=not json_output) as landing:
        summary = run_all(
            lake, on_listed=landing.on_listed, on_outcome=landing.on_outcome,
            on_progress=landing.on_progress,
        )  # fmt: skip
    _publish_table_events(lake, summary)
    if json_output:
        _print_json(
            {
                "landing": dict(summary.landing.counts),
                "trusted": [w.__dict__ for w in summary.trusted.writes],
                "refined": [w.__dict__ for w in summary.refined.writes],
                "failed": summary.trusted.failed,
                "seconds": round(
                    summary.landing.seconds + summary.trusted.seconds + summary.refined.seconds, 3
                ),
            }
        )
        return
    for line in summary.lines():
        out.print(printable(line), highlight=False)
    for outcome in summary.landing.outcomes:
        if outcome.status == "invalid":
            _say(out, "invalid", "red", f"{outcome.landing_key}: {outcome.reason}")
        elif outcome.status == "retry":
            _say(out, "retry later", "yellow", f"{outcome.landing_key}: {outcome.reason}")
    for key in summary.landing.unreadable:
        _say(out, "skipped", "yellow", f"{key}: a key that cannot be processed; rename it")
    for warning in summary.trusted.warnings:
        _say(out, "warning", "yellow", warning)
    for problem in summary.problems:
        err.print(printable(f"warning: {problem} (declaration not loaded)"), highlight=False)
    for ingest_id, reason in summary.trusted.failed.items():
        _say(out, "retry later", "yellow", f"{ingest_id}: {reason}")
    for ingest_id, reason in summary.trusted.given_up.items():
        _say(out, "failed", "red", f"{ingest_id}: {reason} (`agrolake retry` tries it again)")
    if summary.stopped:
        raise StorageUnavailable(summary.stopped)


@app.command()
def fetch(
    source: Annotated[str, typer.Argument(help="weather (Open-Meteo) or ndvi (teledetection).")],
    since: Annotated[
        str | None, typer.Option(help="First day to ask for (YYYY-MM-DD), for every subject.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last day (default: yesterday).")] = None,
    run_lake: Annotated[
        bool, typer.Option("--run/--no-run", help="Process the landed answers at once.")
    ] = True,
    json_output: JsonFlag = False,
) -> None:
    """Fetch new days of weather or NDVI from their APIs into landing, then process them."""
    from agrolake.apis import fetch_ndvi, fetch_weather
    from agrolake.errors import UsageError
    from agrolake.pipeline import run_all

    fetchers = {"weather": fetch_weather, "ndvi": fetch_ndvi}
    if source not in fetchers:
        raise UsageError(f"fetch takes weather or ndvi, not {source!r}")
    lake = _lake()
    first, last = _day(since, "--since"), _day(until, "--until")
    with progress_bar(f"fetching {source}", enabled=not json_output) as on_progress:
        summary = fetchers[source](lake, since=first, until=last, on_progress=on_progress)
    ran = None
    if run_lake and summary.landed:
        with landing_bar(enabled=not json_output) as landing:
            ran = run_all(lake, on_listed=landing.on_listed, on_outcome=landing.on_outcome)
    if json_output:
        _print_json(
            {
                "fetch": summary.as_dict(),
                "run": None
                if ran is None
                else {
                    "landing": dict(ran.landing.counts),
                    "trusted": [w.__dict__ for w in ran.trusted.writes],
                    "refined": [w.__dict__ for w in ran.refined.writes],
                },
            }
        )
    else:
        out.print(summary.line(), highlight=False)
        for line in ran.lines() if ran else []:
            out.print(line, highlight=False)
    if failure := summary.failure():
        for reason in list(summary.failed.values())[1:]:
            err.print(printable(f"  failed: {reason}"), highlight=False, soft_wrap=True)
        raise failure


def _day(text: str | None, option: str) -> date | None:
    from agrolake.errors import UsageError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} takes a date as YYYY-MM-DD, not {text!r}") from None


@app.command()
def rebuild(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Tables, e.g. trusted.erp_parcels.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every table.")] = False,
) -> None:
    """Rebuild trusted tables from raw and refined tables from trusted (new versions)."""
    from agrolake.errors import UsageError
    from agrolake.pipeline import rebuild as rebuild_tables

    if bool(tables) == all_:
        raise UsageError("give the tables to rebuild, or --all")
    lake = _lake()
    with progress_bar("rebuilding") as on_progress:
        writes = rebuild_tables(lake, None if all_ else list(tables or []), on_progress)
    for write in writes:
        out.print(f"rebuilt {write.table} v{write.version} ({write.rows} rows)", highlight=False)
    if not writes:
        out.print("nothing to rebuild: no file has reached these tables yet", highlight=False)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL over trusted.* and refined.* tables.")],
    as_of: Annotated[
        list[str] | None, typer.Option("--as-of", help="Time travel: TABLE=VERSION.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    vertical: Annotated[
        bool, typer.Option("--vertical", help="One record per block (with --format table).")
    ] = False,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="With --format csv: text as stored, even cells a spreadsheet runs as formulas.",
        ),
    ] = False,
) -> None:
    """Query the trusted and refined tables with SQL (DuckDB); wide results fit the terminal."""
    import polars as pl

    from agrolake.answers.query import parse_as_of
    from agrolake.answers.query import query as run_query
    from agrolake.errors import UsageError

    if fmt not in ("table", "csv", "json"):
        raise UsageError(f"--format is table, csv or json, not {fmt!r}")
    lake = _lake()
    result = pl.from_arrow(run_query(lake, sql, parse_as_of(lake, as_of or [])))
    assert isinstance(result, pl.DataFrame)
    if fmt == "csv":
        from agrolake.answers.spreadsheet_cells import safe_frame

        sys.stdout.write((result if raw else safe_frame(result)).write_csv())
    elif fmt == "json":
        sys.stdout.write(result.write_json() + "\n")
    else:
        from agrolake.ui.result_grid import result_lines

        for line in result_lines(result, out.width, vertical=vertical):
            out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def train(
    estimator: Annotated[
        str, typer.Option(help="elasticnet (the seed's model) or random_forest.")
    ] = "elasticnet",
    alpha: Annotated[float | None, typer.Option(help="ElasticNet alpha.")] = None,
    l1_ratio: Annotated[float | None, typer.Option(help="ElasticNet l1_ratio.")] = None,
    version: Annotated[
        int | None, typer.Option(help="Version of refined.ml_wine_quality (default: latest).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Train the wine quality model, register it as challenger, and gate it to champion."""
    from agrolake.ml.training import train_wine_quality

    params = {k: v for k, v in (("alpha", alpha), ("l1_ratio", l1_ratio)) if v is not None}
    lake = _lake()
    with progress_bar("training", enabled=not json_output) as on_progress:
        result = train_wine_quality(
            lake, estimator=estimator, params=params, version=version, on_progress=on_progress
        )
    if json_output:
        _print_json(
            {
                "model": "wine-quality",
                "version": result.model_version,
                "run_id": result.run_id,
                "estimator": result.estimator,
                "metrics": result.metrics,
                "table": {"name": result.table, "version": result.table_version},
                "promoted": result.decision.promoted,
                "reason": result.decision.reason,
            }
        )
        return
    out.print(result.line(), highlight=False)


@app.command()
def lineage(
    key: Annotated[
        str | None, typer.Argument(help="A landing or raw key, file name or ingest id.")
    ] = None,
    table: Annotated[str | None, typer.Option("--table", help="A table's SQL name.")] = None,
    version: Annotated[int | None, typer.Option("--version", help="With --table.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="wine-quality@champion or wine-quality/3.")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Where a file's rows went, which files are behind a table version or a model."""
    from agrolake.answers import provenance
    from agrolake.errors import UsageError

    if sum(x is not None for x in (key, table, model)) != 1:
        raise UsageError("give a KEY, or --table NAME, or --model NAME@ALIAS")
    lake = _lake()
    if model is not None:
        behind = provenance.of_model(lake, model)
        if json_output:
            _print_json(behind)
            return
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(behind["metrics"].items()))
        aliases = f" ({', '.join(behind['aliases'])})" if behind["aliases"] else ""
        out.print(f"{behind['model']} v{behind['version']}{aliases}", highlight=False)
        out.print(f"  run {behind['run_id']}: {metrics}", highlight=False)
        out.print(f"  trained on {behind['table']['name']} v{behind['table']['version']}")
        for item in behind["ingests"]:
            name = printable(item["original_name"])
            out.print(f"  from {name} (ingest {item['ingest_id']})", highlight=False)
        return
    if table is not None:
        data = provenance.of_table(lake, table, version)
        if json_output:
            _print_json(data)
            return
        out.print(f"{data['table']} v{data['version']}", highlight=False)
        for item in data["inputs"]:
            out.print(f"  reads {item['table']} v{item['version']}", highlight=False)
        for item in data["ingests"]:
            shown = printable(f"{item['original_name']} (ingest {item['ingest_id']}, ")
            out.print(f"  from {shown}{printable(str(item['raw_key']))})", highlight=False)
        return
    found = provenance.of_key(lake, key or "")
    if json_output:
        _print_json(found)
        return
    for item in found:
        name = printable(item["original_name"])
        out.print(f"{name} (ingest {item['ingest_id']}): {item['status']}", highlight=False)
        for reached in item["tables"]:
            out.print(f"  → {reached['table']} v{reached['version']}", highlight=False)


@app.command()
def status(json_output: JsonFlag = False) -> None:
    """How many files wait in landing, were rejected, are in raw; every table."""
    from agrolake.answers import reports

    data = reports.status(_lake())
    if json_output:
        _print_json(data)
        return
    table = Table("zone", "what", "count", title="agrolake status")
    table.add_row("landing", "pending", str(data["landing"]["pending"]))
    table.add_row("landing", "in progress", str(data["landing"]["in_progress"]))
    table.add_row("landing", "invalid", str(data["landing"]["invalid"]))
    for dataset, n in data["raw"]["by_dataset"].items():
        table.add_row("raw", dataset, str(n))
    table.add_row("raw", "duplicates skipped", str(data["duplicates"]))
    for zone in ("trusted", "refined"):
        for name, facts in data[zone].items():
            quarantined = f", {facts['quarantined']} quarantined" if facts["quarantined"] else ""
            table.add_row(zone, f"{name} v{facts['version']}", f"{facts['rows']} rows{quarantined}")
    out.print(table)


@app.command()
def invalid(json_output: JsonFlag = False) -> None:
    """Rejected files with the reason of each."""
    from agrolake.answers import reports

    rows = reports.invalid_files(_lake())
    if json_output:
        _print_json(rows)
        return
    if not rows:
        out.print("no rejected files")
        return
    table = Table("file", "ingest id", "reason", title="landing-zone/invalid", show_lines=True)
    for row in rows:
        table.add_row(
            printable(row["original_name"]), row["ingest_id"], printable(row["reason"] or "")
        )
    out.print(table)


@app.command()
def replay(
    keys: Annotated[
        list[str] | None, typer.Argument(help="Invalid keys or ingest ids to replay.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every rejected file.")] = False,
) -> None:
    """Move rejected files back to landing (after fixing a contract or the files)."""
    from agrolake.errors import UsageError
    from agrolake.zones.replay import replay as replay_files

    if bool(keys) == all_:
        raise UsageError("give the keys to replay, or --all")
    restored = replay_files(_lake(), None if all_ else list(keys or []))
    out.print(f"replay: {len(restored)} files back in landing; `agrolake run` processes them")


@app.command()
def retry(
    ingest_ids: Annotated[
        list[str] | None, typer.Argument(help="Ingest ids trusted gave up on.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every ingest trusted gave up on.")] = False,
) -> None:
    """Send ingests that failed in trusted back for another try (after a fix)."""
    from agrolake.errors import UsageError

    if bool(ingest_ids) == all_:
        raise UsageError("give the ingest ids to retry, or --all (`agrolake status` counts them)")
    lake = _lake()
    again = lake.catalog.retry_failed(None if all_ else list(ingest_ids or []))
    unknown = sorted(set(ingest_ids or []) - set(again))
    if unknown:
        raise UsageError(f"not a failed ingest: {', '.join(unknown)}")
    out.print(f"retry: {len(again)} ingests back in raw; `agrolake run` takes them to trusted")


@app.command()
def serve(
    model: Annotated[
        str, typer.Option(help="NAME@ALIAS (followed when it moves) or NAME/VERSION.")
    ] = "wine-quality@champion",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict/--no-strict",
            help="Refuse extra columns and values MLflow would cast (default: "
            "AGROLAKE_SERVE_STRICT, off).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve a registered model on MLflow's scoring protocol (POST /invocations), lean."""
    from agrolake.lake.settings import load_settings
    from agrolake.serving import serve as run_serving

    err.print(f"serve: {model} on http://{host}:{port}/invocations", highlight=False)
    run_serving(load_settings(), model=model, host=host, port=port, strict=strict)


@app.command("mlflow-server")
def mlflow_server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
) -> None:
    """Start a lean MLflow tracking server (UI, registry, proxied artifacts) in one process."""
    from agrolake.lake.settings import load_settings
    from agrolake.ml.tracking import server_config
    from agrolake.ml.tracking_server import run_server

    config = server_config(load_settings(), host, port)
    err.print(f"mlflow-server: {config.url} (backend and artifacts from agrolake settings)")
    raise typer.Exit(run_server(config))


@app.command()
def webhook(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
) -> None:
    """Receive S3 event notifications (POST /s3-events) and wake the landing deployment."""
    from agrolake.lake.settings import load_settings
    from etl.wake import serve as serve_webhook

    settings = load_settings()
    err.print(
        f"webhook: http://{host}:{port}/s3-events wakes {settings.landing_deployment} "
        f"for new objects in {settings.bucket_landing}"
    )
    serve_webhook(settings, host, port)


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8790,
) -> None:
    """Browse the lake in a web page (read-only): zones, tables, quality, lineage, the twin."""
    from agrolake.ui.launch import start_browser

    start_browser(_lake(), host, port, err.print)


@app.command()
def quality(
    ingest_id: Annotated[str | None, typer.Argument(help="An ingest id.")] = None,
    table: Annotated[str | None, typer.Option("--table", help="A table's SQL name.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Quality reports of trusted writes: rows in, written, quarantined by check, nulls."""
    from agrolake.answers.quality import quality_reports
    from agrolake.ui.result_grid import quality_lines

    data = quality_reports(_lake(), ingest_id, table)
    if json_output:
        _print_json(data)
        return
    for line in quality_lines(data):
        out.print(line, highlight=False, markup=False)


@app.command()
def demo(
    folder: Annotated[
        Path | None, typer.Option(help="Where to write the sample files (default: under home).")
    ] = None,
) -> None:
    """Generate sample farm files (a few bad ones too), ingest and run them, show the lake."""
    from agrolake.lake import Lake
    from agrolake.pipeline import run_all
    from agrolake.samples import write_demo_set
    from agrolake.zones.uploads import upload

    lake = Lake.from_env()
    lake.init()  # the demo sets a lake up from nothing, buckets included
    folder = folder or lake.settings.home / "demo-files"
    files = write_demo_set(folder)
    out.print(f"demo: wrote {len(files)} sample files to {folder}")
    uploaded = upload(lake, [folder])
    out.print(f"ingest: {len(uploaded)} files into landing")
    summary = run_all(lake)
    if summary.training is None and lake.settings.train_on_run is not False:
        # With a tracking server `run` leaves training to the deployment; the demo
        # ends with a champion on every profile.
        from agrolake.ml.retrain import retrain_if_needed

        summary.training = retrain_if_needed(lake)
    for line in summary.lines():
        out.print(line, highlight=False)
    _publish_table_events(lake, summary)
    status(json_output=False)
    invalid(json_output=False)
    _twin_preview(lake)


def _publish_table_events(lake: Lake, summary: RunSummary) -> None:
    """Services profile: new table versions become Prefect events, as the flows publish
    them, so triggers (retraining on refined.ml_wine_quality) fire for `run` too."""
    if not lake.settings.uses_s3 and lake.settings.embedded_tracking:
        return
    from etl.events import publish_from_outside_a_flow

    writes = [*summary.trusted.writes, *summary.refined.writes]
    if published := publish_from_outside_a_flow(writes):
        err.print(f"events: {published} table versions announced to Prefect", highlight=False)


TWIN_PREVIEW = """
SELECT enclosure_id, year, season_weather_days AS days,
       round(season_precipitation_mm, 1) AS rain_mm,
       round(season_temperature_mean_c, 1) AS mean_c, season_frost_days AS frost,
       round(season_ndvi_mean, 2) AS ndvi_mean
FROM refined.digital_twin_enclosures ORDER BY enclosure_id, year LIMIT 8
"""


def _twin_preview(lake: Lake) -> None:
    """The first enclosures of the twin with their growing season's weather and NDVI."""
    from agrolake.answers.query import query as run_query

    rows = run_query(lake, TWIN_PREVIEW).to_pylist()
    if not rows:
        return
    table = Table(*rows[0], title="digital twin: season weather and NDVI (first 8)")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    out.print(table)


@app.command()
def maintain(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="A table's SQL name (repeatable); default: every table."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Change nothing: show what would be removed.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Compact, checkpoint and vacuum tables, keeping what models and lineage need readable."""
    from agrolake.maintenance import maintain as maintain_tables

    lake = _lake()
    with progress_bar("maintaining", enabled=not json_output) as on_progress:
        report = maintain_tables(lake, table or None, dry_run=dry_run, on_progress=on_progress)
    if json_output:
        _print_json(report.as_dict())
        return
    for line in report.lines():
        out.print(printable(line), highlight=False)


@app.command("config")
def config(json_output: JsonFlag = False) -> None:
    """Every setting in force and where it came from (default, .env, environment)."""
    from agrolake.lake.settings_sources import settings_in_force

    found = settings_in_force()
    if json_output:
        _print_json([setting.as_dict() for setting in found])
        return
    table = Table("setting", "value", "from", title="agrolake settings (secrets masked)")
    for setting in found:
        value = "" if setting.value is None else str(setting.value)
        table.add_row(setting.variable, value, setting.source)
    out.print(table)


def main() -> None:
    """Entry point: agrolake errors become one line and a non-zero exit."""
    verbose = any(arg in ("--verbose", "-v") for arg in sys.argv[1:])
    show_library_warnings()
    warn_unknown_settings()
    try:
        code = app(prog_name="agrolake", standalone_mode=False)
    except typer.TyperException as exc:  # a usage mistake: Click's message and suggestion
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        error_line(f"{exc.format_message()}{hint}")
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        error_line("aborted")
        sys.exit(130)
    except AgrolakeError as exc:
        if verbose:
            traceback.print_exc()
        error_line(exc.message)
        sys.exit(1)
    except Exception as exc:  # the last net: a user never sees a bare traceback
        if verbose:
            traceback.print_exc()
        error_line(f"{type(exc).__name__}: {exc} (a bug; run with --verbose for details)")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
