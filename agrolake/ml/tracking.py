"""MLflow's tracking and registry, configured from agrolake's settings."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from agrolake.lake.private_files import private_file, private_folder
from agrolake.lake.settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from agrolake.ml.tracking_server import TrackingServerConfig

MODEL_NAME = "wine-quality"
EXPERIMENT = "wine-quality"


def client(settings: Settings) -> MlflowClient:
    """A client on the configured tracking store (embedded SQLite file, or a server)."""
    import mlflow
    from mlflow.tracking import MlflowClient

    # MLflow announces every schema migration of its store at INFO, and warns that
    # it cannot find pip in a uv environment (harmless: requirements are pinned
    # from the installed versions). One summary line per run is ours to print.
    if "MLFLOW_LOGGING_LEVEL" not in os.environ:
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.embedded_tracking:
        _create_embedded_store(settings)
    elif settings.mlflow_token is not None:
        # MLflow's REST client sends this variable as 'Authorization: Bearer'.
        os.environ.setdefault("MLFLOW_TRACKING_TOKEN", settings.mlflow_token.get_secret_value())
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    return MlflowClient(settings.tracking_uri, settings.tracking_uri)


def _create_embedded_store(settings: Settings) -> None:
    """Create the embedded tracking store with its artifact root in the lake.

    MLflow creates its Default experiment (id 0) with the store, its artifacts under
    ``./mlruns`` of whatever folder the first command ran in; created here first, the
    Default experiment keeps them in ``<home>/mlartifacts/0`` like every other one.
    (A tracking server's Default experiment uses the server's artifact root.)
    """
    database = settings.home / "mlflow.db"
    if database.exists() and database.stat().st_size:
        return
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    # Runs, metrics and models are for the owner's eyes only: the store 0600 (SQLite
    # opens the empty file as a new database), the folders 0700.
    private_file(database)
    private_folder(settings.artifacts_folder)
    root = settings.artifacts_folder.as_uri()
    store = SqlAlchemyStore(settings.tracking_uri, root)  # type: ignore[no-untyped-call]
    store.engine.dispose()


def experiment_id(settings: Settings, name: str = EXPERIMENT) -> str:
    """The experiment's id, created on first use (embedded: artifacts under the home)."""
    mlflow_client = client(settings)
    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = settings.artifacts_folder.as_uri() if settings.embedded_tracking else None
    return str(mlflow_client.create_experiment(name, artifact_location=location))


def server_config(settings: Settings, host: str, port: int) -> TrackingServerConfig:
    """The tracking server `agrolake mlflow-server` starts, from agrolake's settings."""
    from agrolake.ml.tracking_server import TrackingServerConfig

    backend = settings.mlflow_backend_store_uri or (
        f"sqlite:///{(settings.home / 'mlflow.db').resolve()}"
    )
    destination = settings.mlflow_artifacts_destination or (
        f"s3://{settings.bucket_mlflow}/" if settings.uses_s3 else str(settings.artifacts_folder)
    )
    s3_env = settings.s3.to_mlflow_env() if destination.startswith("s3://") else {}
    token = settings.mlflow_token.get_secret_value() if settings.mlflow_token else None
    return TrackingServerConfig(backend, destination, host, port, s3_env, token)
