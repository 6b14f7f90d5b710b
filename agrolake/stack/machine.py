"""The stack on this machine: its plan resolved from the saved state and the settings,
and the executables of this installation."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from agrolake.errors import ConfigError
from agrolake.lake.settings import Settings
from agrolake.stack.identities import ROLES, S3Key, bucket_names
from agrolake.stack.layout import StackLayout, StackState
from agrolake.stack.programs import Network, StackConfig

#: PostgreSQL refuses to run as root; as root the stack runs it as this system user
#: (the one the ``pgserver`` package creates for the same reason).
POSTGRES_SYSTEM_USER = "pgserver"
#: Databases on the stack's PostgreSQL: the lake's catalog, MLflow's runs and registry,
#: Prefect's orchestration state.
DATABASES = ("agrolake", "mlflow", "prefect")


def network(state: StackState) -> Network:
    return Network(bind=state.host, connect_host=state.connect_host, ports=state.ports)


def stack_config(settings: Settings, layout: StackLayout, state: StackState) -> StackConfig:
    """The plan's inputs: the stack's own services, or the ones the settings named."""
    net = network(state)
    if state.s3_managed:
        endpoint = net.url("s3")
        keys = {role: state.s3_key(role) for role in ROLES}
    else:
        endpoint = settings.s3_endpoint_url or ""
        given = settings.s3_secret_access_key
        key = S3Key(settings.s3_access_key_id or "", given.get_secret_value() if given else "")
        keys = dict.fromkeys(ROLES, key)
    if state.postgres_managed:
        base = f"postgresql+psycopg://postgres:{state.postgres_password}@{net.address('postgres')}/"
        catalog, mlflow, prefect = (base + name for name in DATABASES)
        prefect = prefect.replace("+psycopg", "+asyncpg", 1)
        if not postgres_has_trigrams():
            prefect = f"sqlite+aiosqlite:///{layout.data('prefect') / 'prefect.db'}"
    else:
        catalog = settings.catalog
        url = make_url(catalog)
        mlflow = settings.mlflow_backend_store_uri or url.set(database="mlflow").render_as_string(
            hide_password=False
        )
        prefect = url.set(drivername="postgresql+asyncpg", database="prefect").render_as_string(
            hide_password=False
        )
    return StackConfig(
        network=net,
        home=settings.home.resolve(),
        data=layout.root / "data",
        workers=state.workers,
        s3_managed=state.s3_managed,
        postgres_managed=state.postgres_managed,
        s3_endpoint_url=endpoint,
        s3_keys=keys,
        s3_region=settings.s3_region,
        catalog_url=catalog,
        mlflow_backend_store_uri=mlflow,
        prefect_database_url=prefect,
        webhook_token=state.webhook_token,
        mlflow_token=state.mlflow_token,
        serve_token=state.serve_token,
        buckets=bucket_names(settings),
        postgres_user=POSTGRES_SYSTEM_USER if _is_root() else None,
    )


def external_services(settings: Settings) -> tuple[bool, bool]:
    """(S3 managed, PostgreSQL managed) for a new stack: an S3 endpoint or a PostgreSQL
    catalog already in the settings is used instead of running one."""
    if settings.catalog_url and not settings.catalog_url.startswith("postgresql"):
        raise ConfigError(
            "AGROLAKE_CATALOG_URL names a catalog that is not PostgreSQL; unset it to let "
            "`agrolake stack` run PostgreSQL, or point it at a PostgreSQL server"
        )
    if settings.s3_endpoint_url and not settings.s3_access_key_id:
        raise ConfigError(
            "AGROLAKE_S3_ENDPOINT_URL is set without AGROLAKE_S3_ACCESS_KEY_ID: give the "
            "external S3's keys, or unset the endpoint to let `agrolake stack` run SeaweedFS"
        )
    return settings.s3_endpoint_url is None, settings.catalog_url is None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def executable(name: str) -> str:
    """The file of a command the plan names, in this installation."""
    if name == "python":
        return sys.executable
    if name == "postgres":
        return str(postgres_bin() / "postgres")
    found = Path(sys.executable).parent / name
    if not found.is_file():
        raise ConfigError(
            f"`{name}` is not installed beside {sys.executable}: install agrolake with its "
            "stack extra (pip install 'agrolake[stack]', or uv sync in the project)"
        )
    return str(found)


def postgres_bin() -> Path:
    """PostgreSQL's binaries from the ``pgserver`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("PostgreSQL binaries not found: install agrolake[stack] (pgserver)")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def postgres_has_trigrams() -> bool:
    """Whether the packaged PostgreSQL has the pg_trgm extension that Prefect's schema
    needs. The pgserver wheel ships no contrib modules, so the stack's Prefect server then
    keeps its state in SQLite (docs/deploy.md); an external PostgreSQL, or the compose
    file's, has them."""
    share = postgres_bin().parent / "share" / "postgresql" / "extension"
    return (share / "pg_trgm.control").is_file()


def project_root() -> Path:
    """The folder holding prefect.yaml and etl/ (what workers run)."""
    import agrolake

    root = Path(agrolake.__file__).resolve().parent.parent
    if not (root / "prefect.yaml").is_file():
        raise ConfigError(
            f"no prefect.yaml in {root}: run `agrolake stack` from a checkout of the "
            "project (the deployments are declared there)"
        )
    return root
