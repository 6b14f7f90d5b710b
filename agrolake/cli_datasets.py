"""``agrolake datasets …``: the registry from the command line (shapes in docs/cli.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from agrolake.answers.dataset_facts import dataset_details, summary

if TYPE_CHECKING:
    from agrolake.datasets.registry import Registry
    from agrolake.readers import ReaderLimits

app = typer.Typer(
    help="Dataset declarations: list, show, check a file, infer one from a sample.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True, markup=False)  # names and reasons are printed as text
err = Console(stderr=True, soft_wrap=True, markup=False)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _registry() -> Registry:
    from agrolake.datasets.registry import load_registry
    from agrolake.lake.settings import load_settings

    return load_registry(load_settings())


def _limits() -> ReaderLimits:
    """The readers' bounds as landing applies them: a sample checked or inferred here is
    refused for the same reasons it would be at landing."""
    from agrolake.lake.settings import load_settings
    from agrolake.readers import ReaderLimits

    return ReaderLimits.from_settings(load_settings())


def _warn(registry: Registry) -> None:
    for problem in registry.problems:
        err.print(f"warning: {problem.line()} (declaration not loaded)", highlight=False)


@app.command("list")
def list_datasets(json_output: JsonFlag = False) -> None:
    """Every dataset: built-in or declared, its tables, key and how files are recognised."""
    from agrolake.answers.inventory import orphaned_datasets, orphaned_tables
    from agrolake.lake import Lake

    lake = Lake.from_env()
    lake.ready()
    try:
        registry = _registry()
        orphans = orphaned_datasets(lake, registry)
        tables = [r.sql_name for r in orphaned_tables(lake, registry)]
    finally:
        lake.close()
    _warn(registry)
    if json_output:
        _print_json(
            {
                "datasets": [summary(d) for d in registry.datasets],
                "orphaned": {"datasets": orphans, "tables": tables},
                "problems": [p.__dict__ for p in registry.problems],
            }
        )
        return
    shown = RichTable("dataset", "from", "tables (key)", "files", title="datasets")
    for dataset in registry.datasets:
        facts = summary(dataset)
        origin = "built-in" if dataset.builtin else Path(dataset.origin).name
        origin += "" if dataset.enabled else " (disabled)"
        keyed = "\n".join(
            f"{t['name']} ({', '.join(t['key']) or 'per ingest'})" for t in facts["tables"]
        )
        files = ", ".join(facts["formats"])
        if facts["name_pattern"]:
            files += f"; names /{facts['name_pattern']}/"
        shown.add_row(dataset.id, origin, keyed, files)
    out.print(shown)
    for dataset_id, facts in orphans.items():
        why = "disabled" if facts["disabled"] else "no longer declared"
        out.print(f"orphaned: {dataset_id} ({why}): {facts['raw_ingests']} raw files kept")
    for table in tables:
        out.print(f"orphaned: {table} (kept, queryable; its dataset is no longer declared)")


@app.command()
def show(
    dataset_id: Annotated[
        str, typer.Argument(metavar="ID", help="A dataset id, e.g. erp.activities.")
    ],
    json_output: JsonFlag = False,
) -> None:
    """The whole declaration as the lake sees it, with each table's derived schema."""
    registry = _registry()
    dataset = registry.dataset(dataset_id)
    data = dataset_details(dataset)
    if json_output:
        _print_json(data)
        return
    out.print(f"{dataset.id}: {dataset.description}", highlight=False)
    out.print(f"  from {data['origin']}; provider {data['provider']}; files {data['formats']}")
    for table in data["tables"]:
        key = ", ".join(table["key"]) or "none (rows replaced per ingest)"
        out.print(f"  {table['name']}: key {key}; evolution {table['evolution']}", highlight=False)
        schema = RichTable("column", "type", "raw column", "checks")
        for column in table["schema"]:
            schema.add_row(
                column["name"] + (" (personal)" if column["personal"] else ""),
                column["type"] + ("" if column["nullable"] else " not null"),
                column["source"] or "(derived)",
                ", ".join(column["checks"]),
            )
        out.print(schema)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="A file, as it would be uploaded to landing.")],
    json_output: JsonFlag = False,
) -> None:
    """Which dataset a file would be recognised as, and why; nothing is landed."""
    from agrolake.datasets.recognition import explain, recognise
    from agrolake.errors import FileRejected, UsageError
    from agrolake.readers import read_sample

    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    registry = _registry()
    datasets = registry.enabled
    result: dict[str, Any] = {"file": str(file), "dataset": None, "code": None, "reason": None}
    try:
        sample = read_sample(file, file.name, _limits())
        result["format"] = sample.format
        result["candidates"] = explain(sample, file.name, datasets)
        dataset = recognise(sample, file.name, datasets)
        result["dataset"] = dataset.id
        result["tables"] = summary(dataset)["tables"]
    except FileRejected as rejection:
        result |= {"code": rejection.code, "reason": rejection.reason}
    if json_output:
        _print_json(result)
    elif result["dataset"]:
        out.print(f"{file.name}: {result['dataset']}", highlight=False)
    else:
        out.print(f"{file.name}: rejected ({result['code']}): {result['reason']}", highlight=False)
    if not json_output:
        for row in result.get("candidates", [])[:3]:
            missing = "; ".join(f"{w}: {', '.join(c)}" for w, c in row["missing_columns"].items())
            named = ", name matches" if row["name_matches"] else ""
            out.print(
                f"  {row['dataset']}: {row['coverage']:.0%} of its required columns{named}"
                + (f"; missing {missing}" if missing else ""),
                highlight=False,
            )
    _warn(registry)


@app.command()
def infer(
    file: Annotated[Path, typer.Argument(help="A sample file of the new source.")],
    dataset_id: Annotated[str, typer.Option("--id", help="source.dataset, lower case.")],
    key: Annotated[str | None, typer.Option(help="Business key columns, comma separated.")] = None,
    sheet: Annotated[str | None, typer.Option(help="The workbook sheet to declare.")] = None,
    out_dir: Annotated[
        str | None,
        typer.Option(
            "--out", help="Folder (or s3:// prefix) to write to; default the datasets folder."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace a declaration file of the same id.")] = False,
) -> None:
    """Write a declaration for files like FILE, inferred from it; prints its path."""
    from agrolake.datasets.declarations import write_declaration
    from agrolake.datasets.infer import declaration_text, infer_dataset
    from agrolake.errors import UsageError
    from agrolake.lake.settings import load_settings

    if not file.is_file():
        raise UsageError(f"no such file: {file}")
    settings = load_settings()
    registry = _registry()
    taken = registry.get(dataset_id)
    if taken is not None and (taken.builtin or not force):
        where = "a built-in dataset" if taken.builtin else f"declared in {taken.origin}"
        hint = "" if taken.builtin else " (--force replaces it)"
        raise UsageError(f"{dataset_id} is {where}; choose another --id{hint}")
    keys = [k.strip() for k in (key or "").split(",") if k.strip()]
    inferred = infer_dataset(file, dataset_id, key=keys, sheet=sheet, limits=_limits())
    text = declaration_text(inferred, file.name)
    written = write_declaration(settings, inferred.dataset, text, out_dir, replace=force)
    err.print(
        f"inferred {len(inferred.dataset.tables[0].fields)} fields from {inferred.rows} rows "
        f"of {file.name}; edit the file to add checks, then `agrolake run`",
        highlight=False,
    )
    out.print(written, highlight=False)
