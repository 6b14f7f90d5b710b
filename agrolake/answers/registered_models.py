"""Registered models as the lake sees them: versions, aliases, the gate's decisions,
metrics and the table version each was trained on.

An embedded lake that never trained has no MLflow database: it is not created
here (a read-only page must not write one), the answer is simply empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agrolake.errors import AgrolakeError
from agrolake.lake import Lake

GATE_PREFIX = "gate."


def mlflow_ui(lake: Lake) -> str | None:
    """The MLflow UI's address when a tracking server is configured, else None; without
    the user and password a tracking URI may carry (pages show it as a link)."""
    uri = lake.settings.mlflow_tracking_uri
    if not uri or not uri.startswith(("http://", "https://")):
        return None
    parts = urlsplit(uri)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def has_registry(lake: Lake) -> bool:
    settings = lake.settings
    return not settings.embedded_tracking or (settings.home / "mlflow.db").is_file()


def registered_models(lake: Lake) -> dict[str, Any]:
    """Every registered model with its versions, newest first; shape in docs/ui.md."""
    found: dict[str, Any] = {"mlflow_ui": mlflow_ui(lake), "models": []}
    if not has_registry(lake):
        return found
    from mlflow.exceptions import MlflowException

    from agrolake.ml.tracking import client

    try:
        mlflow_client = client(lake.settings)
        for model in mlflow_client.search_registered_models():
            quoted = model.name.replace("'", "\\'")
            versions = mlflow_client.search_model_versions(f"name='{quoted}'")
            found["models"].append(
                {
                    "name": model.name,
                    "description": model.description or None,
                    "aliases": dict(model.aliases or {}),
                    "versions": [
                        _version(mlflow_client, v, model.aliases or {})
                        for v in sorted(versions, key=lambda v: int(v.version), reverse=True)
                    ],
                }
            )
    except MlflowException as exc:
        raise AgrolakeError(f"the model registry did not answer: {exc.message}") from exc
    return found


def _version(mlflow_client: Any, version: Any, aliases: dict[str, Any]) -> dict[str, Any]:
    """One version; its aliases come from the model (searches leave them out)."""
    run = mlflow_client.get_run(version.run_id) if version.run_id else None
    tags = run.data.tags if run else {}
    table = tags.get("agrolake.table")
    table_version = tags.get("agrolake.table_version")
    created = datetime.fromtimestamp(int(version.creation_timestamp) / 1000, UTC)
    return {
        "version": str(version.version),
        "aliases": sorted(a for a, v in aliases.items() if str(v) == str(version.version)),
        "created_at": created.isoformat(),
        "run_id": version.run_id,
        "estimator": run.data.params.get("estimator") if run else None,
        "metrics": dict(run.data.metrics) if run else {},
        "gate": {
            k.removeprefix(GATE_PREFIX): v
            for k, v in sorted((version.tags or {}).items())
            if k.startswith(GATE_PREFIX)
        },
        "table": {"name": table, "version": int(table_version)}
        if table and table_version and table_version.isdigit()
        else None,
    }


def trained_versions(lake: Lake) -> list[dict[str, Any]]:
    """Every model version trained from a lake table: model, version, aliases, table."""
    return [
        {"model": m["name"], **v}
        for m in registered_models(lake)["models"]
        for v in m["versions"]
        if v["table"] is not None
    ]
