"""The lean MLflow tracking server: one uvicorn process, UI + REST API + registry.

``mlflow server`` with its defaults runs a CLI parent process, a uvicorn supervisor,
4 workers and a job-execution runner (huey consumer + its workers): 15 processes and
~2.7 GiB PSS on our machine. :func:`server_command` starts the same ASGI application,
``mlflow.server.fastapi_app:app``, as a single uvicorn process (no supervisor, no
workers, no job runner, no telemetry, and without the optional polars/pyarrow/scipy
that MLflow would import only because agrolake installs them) with the configuration
that ``mlflow server`` would hand to its workers, and proxied artifact access
(``--serve-artifacts``): clients log to ``mlflow-artifacts:/`` through the server,
which writes to :attr:`TrackingServerConfig.artifacts_destination`
(``s3://bucket/prefix`` or a folder).

The schema of the backend store is migrated before the server starts
(:func:`migrate_backend_store`, what ``mlflow db upgrade`` does), in a short-lived
process of its own, so the server itself never carries the migration's memory.

MLflow internals. ``mlflow server`` (``mlflow.cli.server`` -> ``mlflow.server._run_server``)
configures its workers through private environment variables (``mlflow.server.constants``:
``_MLFLOW_SERVER_FILE_STORE``, ``_MLFLOW_SERVER_REGISTRY_STORE``,
``_MLFLOW_SERVER_ARTIFACT_ROOT``, ``_MLFLOW_SERVER_SERVE_ARTIFACTS``,
``_MLFLOW_SERVER_ARTIFACT_DESTINATION``; ``mlflow.environment_variables``:
``_MLFLOW_SGI_NAME``, ``_MLFLOW_SERVER_BOOT_ID``, ``_MLFLOW_IN_JOB_EXECUTOR``) and the
module path of the app. We set them ourselves, so this module depends on MLflow's
internals: that is why ``mlflow`` is pinned (``==3.17.2`` in pyproject.toml). So does
skipping the optional imports (``SKIPPED_IMPORTS``: MLflow must keep treating them as
optional). When the pin moves, re-read ``mlflow/server/__init__.py`` (``_run_server``),
``mlflow/cli`` (``server``), ``mlflow/server/handlers.py`` (``_get_tracking_store``,
``_get_artifact_repo_mlflow_artifacts``) and ``mlflow/server/fastapi_app.py``, and run
``tests/ml/test_server.py``.

This is a library module: it never imports Prefect, Typer or the CLI, and imports
MLflow only inside the functions that need it (none of the command builders do).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlparse

from agrolake.errors import AgrolakeError
from agrolake.lake.http_guard import require_token
from agrolake.lake.private_files import private_file
from agrolake.ml.tracking_app import TOKEN_VARIABLE

__all__ = [
    "MLFLOW_APP",
    "PINNED_MLFLOW",
    "SKIPPED_IMPORTS",
    "TrackingServerConfig",
    "TrackingStoreMigrationError",
    "default_server_command",
    "migrate_backend_store",
    "migrate_command",
    "run_server",
    "server_command",
    "server_environment",
]

#: The MLflow release whose internals this module relies on (see the module docstring).
PINNED_MLFLOW = "3.17.2"

#: The ASGI app ``mlflow server`` runs under uvicorn (``_run_server``: FastAPI wrapping
#: the Flask app, plus the native artifact, OTel, job, gateway and server-info routers).
MLFLOW_APP = "mlflow.server.fastapi_app:app"

#: ``mlflow.store.tracking.DEFAULT_ARTIFACTS_URI``: the artifact root of new
#: experiments when the server proxies artifacts (``--serve-artifacts``).
_PROXIED_ARTIFACT_ROOT = "mlflow-artifacts:/"

# mlflow.server.constants (private; set by `mlflow server` for its workers).
_BACKEND_STORE = "_MLFLOW_SERVER_FILE_STORE"
_REGISTRY_STORE = "_MLFLOW_SERVER_REGISTRY_STORE"
_ARTIFACT_ROOT = "_MLFLOW_SERVER_ARTIFACT_ROOT"
_SERVE_ARTIFACTS = "_MLFLOW_SERVER_SERVE_ARTIFACTS"
_ARTIFACT_DESTINATION = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"
# mlflow.environment_variables (private ones, also set by `mlflow server`).
_SGI_NAME = "_MLFLOW_SGI_NAME"
_BOOT_ID = "_MLFLOW_SERVER_BOOT_ID"
_IN_JOB_EXECUTOR = "_MLFLOW_IN_JOB_EXECUTOR"

# Our own variable: the migration process reads the store URI from here, so a password
# in it never shows up in a process list.
_MIGRATE_URI = "_AGROLAKE_MLFLOW_BACKEND_STORE_URI"

#: Optional packages MLflow imports at startup only because they are installed (agrolake
#: needs them): ``mlflow.data`` registers a polars dataset constructor, pandas probes
#: pyarrow, ``mlflow.models.utils`` imports scipy.sparse for input examples. All three
#: imports sit in ``try/except ImportError`` (MLflow 3.17.2), and the tracking server
#: never builds datasets or model inputs; pyarrow is only needed for hdfs:// artifacts.
#: Marking them unimportable (None in ``sys.modules``) saves ~90 MiB RSS (~50 MiB PSS)
#: in the server: measured with bench/mlflow_server.py (docs/ml-server.md).
SKIPPED_IMPORTS = ("polars", "pyarrow", "scipy")
_HDFS = ("hdfs", "viewfs")
# The server process: agrolake.ml.tracking_app (uvicorn with the token and read
# deadlines), after marking the optional packages as absent.
_SERVE_CODE = (
    "import sys\n"
    "sys.modules.update(dict.fromkeys({names!r}))\n"
    "from agrolake.ml.tracking_app import main\n"
    "main()\n"
)
_SERVE_MODULE = "agrolake.ml.tracking_app"

# What `mlflow db upgrade URL` runs (mlflow/db.py): create every table in an empty
# database, otherwise alembic-upgrade to head (a no-op when already there). The same
# optional packages are kept out (imports are most of its run time).
_MIGRATE_CODE = (
    "import os, sys\n"
    f"sys.modules.update(dict.fromkeys({SKIPPED_IMPORTS!r}))\n"
    "from mlflow.db import upgrade\n"
    f"upgrade.main([os.environ[{_MIGRATE_URI!r}]], prog_name='mlflow db upgrade')\n"
)

# Ambient variables that would change what the server does behind our back.
_SCRUBBED_PREFIXES = ("_MLFLOW_", "UVICORN_")  # uvicorn reads UVICORN_<OPTION>
_SCRUBBED = frozenset(
    {
        "MLFLOW_WORKSPACE",  # client-only; `mlflow server` refuses to start with it set
        "MLFLOW_TRACKING_URI",  # the server sets its own from the backend store
        "MLFLOW_REGISTRY_URI",
        "prometheus_multiproc_dir",  # turns on the Prometheus exporter
    }
)


@dataclass(frozen=True)
class TrackingServerConfig:
    """Where the tracking server keeps its data and where it listens.

    ``backend_store_uri``: SQLAlchemy URL of runs and the model registry
    (``postgresql+psycopg://…``, ``sqlite:///…``). ``artifacts_destination``: where the
    server writes proxied artifacts, ``s3://bucket[/prefix]`` or a local folder.
    ``s3_env``: environment for MLflow's S3 artifact repository (boto3), e.g.
    ``MLFLOW_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_DEFAULT_REGION`` (see ``S3Credentials.to_mlflow_env``). ``token``: see below.
    """

    backend_store_uri: str
    artifacts_destination: str
    host: str = "127.0.0.1"
    port: int = 5000
    s3_env: dict[str, str] = field(default_factory=dict)
    #: Wanted on every request but /health (``AGROLAKE_MLFLOW_TOKEN``); required to
    #: listen on an address other than loopback.
    token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The base URL clients use (``MLFLOW_TRACKING_URI``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class TrackingStoreMigrationError(AgrolakeError):
    """The backend store's schema could not be created or upgraded."""


def _artifacts_destination(config: TrackingServerConfig) -> str:
    """The destination with a local folder made absolute (the server's cwd may differ)."""
    dest = config.artifacts_destination
    if not urlparse(dest).scheme:
        return str(Path(dest).expanduser().resolve())
    return dest


def _base_environment(base_env: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ if base_env is None else base_env)
    for name in list(env):
        if name in _SCRUBBED or name.startswith(_SCRUBBED_PREFIXES):
            del env[name]
    return env


def server_environment(config: TrackingServerConfig) -> dict[str, str]:
    """The variables the lean server needs on top of a clean environment.

    These are the variables ``mlflow server --backend-store-uri B --artifacts-destination
    D --serve-artifacts`` hands to its uvicorn workers (``mlflow.server._run_server``),
    with the job runner and telemetry switched off, plus ``config.s3_env``.
    """
    token = {TOKEN_VARIABLE: config.token} if config.token else {}
    return {
        **config.s3_env,
        **token,
        _BACKEND_STORE: config.backend_store_uri,
        _REGISTRY_STORE: config.backend_store_uri,
        _ARTIFACT_ROOT: _PROXIED_ARTIFACT_ROOT,
        _SERVE_ARTIFACTS: "true",
        _ARTIFACT_DESTINATION: _artifacts_destination(config),
        _SGI_NAME: "uvicorn",
        # Shared by `mlflow server`'s workers to tell their own assistant-sandbox
        # containers from orphans of an earlier boot; one per start.
        _BOOT_ID: uuid.uuid4().hex,
        # `mlflow server` forces this off for its workers: only job-executor
        # subprocesses may rebuild custom scorer code.
        _IN_JOB_EXECUTOR: "false",
        # No job runner (huey consumer + workers, ~10 processes). Jobs are only used by
        # GenAI features (scorers, prompt optimisation, trace rollups) that agrolake
        # does not use; invoking one answers with an error saying it is disabled.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_ENABLE_WORKSPACES": "false",  # as `mlflow server` without --enable-workspaces
        # No usage telemetry thread (and no network calls from a server on 127.0.0.1).
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def _uvicorn_log_config() -> str | None:
    """MLflow's uvicorn log config (same log format as ``mlflow server``), if present.

    Located without importing mlflow (that takes seconds and ~200 MB).
    """
    import importlib.util

    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "server" / "uvicorn_log_config.yaml"
        if path.is_file():
            return str(path)
    return None


def server_command(
    config: TrackingServerConfig,
    *,
    base_env: Mapping[str, str] | None = None,
    skip_optional_imports: bool = True,
) -> tuple[list[str], dict[str, str]]:
    """argv and complete environment of the lean server: one uvicorn process
    (:mod:`agrolake.ml.tracking_app`: uvicorn in its own process, without a supervisor
    or workers, MLflow's app behind ``config.token``, with read deadlines).

    ``base_env`` (default ``os.environ``) is the environment to start from; ambient
    ``_MLFLOW_*``, ``UVICORN_*`` and client-side MLflow variables are dropped from it.
    ``skip_optional_imports``: start it through a ``python -c`` prelude that marks
    :data:`SKIPPED_IMPORTS` as absent (otherwise ``python -m agrolake.ml.tracking_app``).
    The token travels in the environment. Run :func:`migrate_backend_store` first
    (``run_server`` does).
    """
    skipped = [
        name
        for name in SKIPPED_IMPORTS
        if not (name == "pyarrow" and urlparse(config.artifacts_destination).scheme in _HDFS)
    ]
    if skip_optional_imports and skipped:
        argv = [sys.executable, "-c", _SERVE_CODE.format(names=tuple(skipped))]
    else:
        argv = [sys.executable, "-m", _SERVE_MODULE]
    if (log_config := _uvicorn_log_config()) is not None:
        argv += ["--log-config", log_config]
    argv += ["--host", config.host, "--port", str(config.port), MLFLOW_APP]
    return argv, _base_environment(base_env) | server_environment(config)


def migrate_command(
    config: TrackingServerConfig, *, base_env: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the one-shot schema migration (``mlflow db upgrade``).

    The store URI travels in an environment variable, not in argv.
    """
    env = _base_environment(base_env)
    env[_MIGRATE_URI] = config.backend_store_uri
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return [sys.executable, "-c", _MIGRATE_CODE], env


def _ensure_sqlite_file(uri: str) -> None:
    """SQLite creates a missing file but not a missing folder: create both, the file 0600
    and new folders 0700 (runs and models are the owner's)."""
    if not uri.startswith("sqlite:"):
        return
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(Path(database).expanduser())


def migrate_backend_store(
    config: TrackingServerConfig,
    *,
    base_env: Mapping[str, str] | None = None,
    output: IO[bytes] | None = None,
    timeout: float | None = 600.0,
) -> None:
    """Create (empty database) or upgrade the MLflow schema of the backend store.

    Runs :func:`migrate_command` in a child process and waits; its output goes to
    ``output`` (stdout and stderr), by default to this process's stdout/stderr. Raises
    :class:`TrackingStoreMigrationError` if it fails.
    """
    _ensure_sqlite_file(config.backend_store_uri)
    argv, env = migrate_command(config, base_env=base_env)
    try:
        result = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=None if output is None else subprocess.STDOUT,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise TrackingStoreMigrationError(
            f"the MLflow schema migration did not finish within {timeout:.0f} s"
        ) from exc
    if result.returncode != 0:
        raise TrackingStoreMigrationError(
            f"the MLflow schema migration failed (exit code {result.returncode}); "
            "see its output. Is the backend store reachable?",
            returncode=result.returncode,
        )


def default_server_command(
    config: TrackingServerConfig, *, base_env: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of plain ``mlflow server`` with its defaults (the baseline).

    Same stores, proxied artifacts, host and port as :func:`server_command`; workers
    (4), job execution (on) and everything else left at MLflow's defaults. The store
    URI goes through ``MLFLOW_BACKEND_STORE_URI`` (the option's envvar), not argv.
    """
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--artifacts-destination",
        _artifacts_destination(config),
        "--host",
        config.host,
        "--port",
        str(config.port),
    ]
    env = _base_environment(base_env) | config.s3_env
    # Drop the option envvars `mlflow server` reads, so only ours apply.
    for name in (
        "MLFLOW_WORKERS",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "MLFLOW_REGISTRY_STORE_URI",
        "MLFLOW_SERVE_ARTIFACTS",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION",
        "MLFLOW_DISABLE_TELEMETRY",
    ):
        env.pop(name, None)
    env["MLFLOW_BACKEND_STORE_URI"] = config.backend_store_uri
    return argv, env


def run_server(config: TrackingServerConfig, *, replace_process: bool = True) -> int:
    """Migrate the backend store, then serve in the foreground until stopped.

    With ``replace_process`` (the CLI), this process *becomes* the server
    (``os.execve``): no parent stays behind, signals reach uvicorn directly, and the
    function only returns if the migration fails (its exit code). Otherwise the server
    runs as a child; SIGINT/SIGTERM are forwarded to it and its exit code is returned.

    Raises ``ConfigError`` at once, before the migration, for a ``host`` other than
    loopback without a token.
    """
    require_token(
        config.host, config.token, server="agrolake mlflow-server", setting="AGROLAKE_MLFLOW_TOKEN"
    )
    try:
        migrate_backend_store(config)
    except TrackingStoreMigrationError as exc:
        print(f"agrolake: {exc.message}", file=sys.stderr)
        return int(exc.facts.get("returncode", 1))
    argv, env = server_command(config)
    if replace_process:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(argv[0], argv, env)
    # Its own process group: a Ctrl+C at the terminal reaches only us, and we forward
    # it once (uvicorn force-quits on a second SIGINT).
    proc = subprocess.Popen(argv, env=env, process_group=0)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
