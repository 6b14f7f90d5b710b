"""Lineage answers: from a file to the table versions it reached, and back."""

from __future__ import annotations

from typing import Any

from agrolake.answers.inventory import queryable_tables
from agrolake.datasets.registry import load_registry
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.catalog import Ingest
from agrolake.lake.tables import parse_table


def ingest_facts(row: Ingest) -> dict[str, Any]:
    return {
        "ingest_id": row.ingest_id,
        "original_name": row.original_name,
        "raw_key": row.raw_key,
        "sha256": row.sha256,
    }


def of_key(lake: Lake, key: str) -> list[dict[str, Any]]:
    """Every ingest of a landing key, raw key or file name (keys get reused), with the
    first version of each table that holds its rows."""
    find = lake.catalog.find
    matches = [
        *find(landing_key=key),
        *find(raw_key=key),
        *find(original_name=key),
        *find(ingest_id=key),
    ]
    unique = {row.ingest_id: row for row in matches}
    if not unique:
        raise UsageError(
            f"no ingest of {key!r}: give a landing key, raw key, file name or ingest id"
        )
    lineage = lake.catalog.lineage
    return [
        {
            **ingest_facts(row),
            "landing_key": row.landing_key,
            "status": row.status,
            "dataset": row.dataset,
            "tables": lineage.first_versions_with({ingest_id}),
        }
        for ingest_id, row in sorted(unique.items())
    ]


def of_table(lake: Lake, name: str, version: int | None = None) -> dict[str, Any]:
    """The inputs and source files behind a table version (default: the latest)."""
    ref = parse_table(name, queryable_tables(lake, load_registry(lake.settings)))
    lineage = lake.catalog.lineage
    recorded = lineage.version(ref.sql_name, version)
    if recorded is None:
        which = f"version {version} of " if version is not None else ""
        raise UsageError(f"no lineage recorded for {which}{ref.sql_name}")
    ingest_ids = lineage.contained(ref.sql_name, recorded.version)
    rows = lake.catalog.get_many(ingest_ids)
    return {
        "table": ref.sql_name,
        "version": recorded.version,
        "inputs": [{"table": t, "version": v} for t, v in sorted(recorded.inputs.items())],
        "ingests": [ingest_facts(r) for r in rows],
    }


def of_model(lake: Lake, reference: str) -> dict[str, Any]:
    """A model version → its run → metrics → table version → ingests → file names.

    ``reference`` is ``name@alias`` or ``name/version``.
    """
    from mlflow.exceptions import MlflowException

    from agrolake.ml.tracking import client

    mlflow_client = client(lake.settings)
    name, alias = reference.split("@", 1) if "@" in reference else (reference, None)
    name, _, number = name.partition("/")
    if not alias and not number.isdigit():
        raise UsageError(f"give a model as NAME@ALIAS or NAME/VERSION, not {reference!r}")
    try:
        if alias:
            version = mlflow_client.get_model_version_by_alias(name, alias)
        else:
            version = mlflow_client.get_model_version(name, number)
        run = mlflow_client.get_run(str(version.run_id))
    except MlflowException as exc:
        raise UsageError(f"no model {reference!r}: {exc.message.splitlines()[0]}") from exc
    table = run.data.tags.get("agrolake.table")
    table_version = run.data.tags.get("agrolake.table_version")
    if table is None or table_version is None:
        raise UsageError(f"{reference} was not trained by agrolake: its run has no table tags")
    ingest_ids = lake.catalog.lineage.contained(table, int(table_version))
    rows = lake.catalog.get_many(ingest_ids)
    return {
        "model": name,
        "version": str(version.version),
        "aliases": list(version.aliases),
        "run_id": run.info.run_id,
        "metrics": dict(run.data.metrics),
        "table": {"name": table, "version": int(table_version)},
        "ingests": [ingest_facts(r) for r in rows],
    }
