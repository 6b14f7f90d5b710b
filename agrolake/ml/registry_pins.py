"""The table versions registered model versions were trained on, from the registry."""

from __future__ import annotations

from agrolake.errors import RegistryUnavailable
from agrolake.lake.settings import Settings
from agrolake.ml.tracking import client

PAGE = 1000


def trained_table_versions(settings: Settings) -> list[tuple[str, int, str]]:
    """(table, version, ``model/version``) of every registered model version whose run
    carries agrolake's ``agrolake.table``/``agrolake.table_version`` tags.

    An embedded store that does not exist yet holds no model (and is not created). A
    registry that cannot be read raises :class:`RegistryUnavailable`: a caller deciding
    what may be deleted must not take "unreadable" for "no model".
    """
    if settings.embedded_tracking and not (settings.home / "mlflow.db").exists():
        return []
    try:
        mlflow_client = client(settings)
        versions, token = [], None
        while True:
            page = mlflow_client.search_model_versions(max_results=PAGE, page_token=token)
            versions += list(page)
            token = page.token
            if not token:
                break
        runs = {v.run_id: mlflow_client.get_run(v.run_id) for v in versions if v.run_id}
    except Exception as exc:  # MLflow raises its own, requests' and SQLAlchemy's errors
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise RegistryUnavailable(
            f"the model registry at {settings.tracking_uri} could not be read ({detail}); "
            "nothing was removed: the versions models were trained on are unknown"
        ) from exc
    found = []
    for version in versions:
        run = runs.get(version.run_id) if version.run_id else None
        tags = run.data.tags if run is not None else {}
        table, number = tags.get("agrolake.table"), tags.get("agrolake.table_version")
        if table and number and number.isdigit():
            found.append((table, int(number), f"model {version.name}/{version.version}"))
    return found
