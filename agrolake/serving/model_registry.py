"""Which model version an alias points at, and its artifacts, read without MLflow's client.

Two readers, chosen by the tracking URI of the settings:

* :class:`RestRegistry` (``http[s]://``, the services profile): MLflow's REST API on the
  tracking server. ``GET /api/2.0/mlflow/registered-models/alias?name=&alias=``
  (``GetModelVersionByAlias``; ``latest`` is MLflow's own alias for the highest
  version), ``GET /api/2.0/mlflow/model-versions/get?name=&version=`` for a pinned
  version, ``GET /api/2.0/mlflow/artifacts/list?run_id=&path=`` and
  ``GET /get-artifact?run_id=&path=`` for a run's artifacts
  (``mlflow/server/handlers.py: get_artifact_handler``; it serves proxied
  ``mlflow-artifacts:/`` roots and direct ones such as ``s3://`` alike, so the
  serving process needs no S3 keys). Public, versioned endpoints.
* :class:`SqliteRegistry` (``sqlite:///…``, the embedded profile, no server): the
  registry's SQLite file opened **read-only** with the standard library, and the
  run's artifacts read from the local artifact folder. This relies on MLflow's
  database schema (tables ``registered_model_aliases``, ``model_versions``,
  ``runs``; alembic revision :data:`SCHEMA_REVISION` of MLflow 3.17.2, the version
  pyproject.toml pins): when the pin moves, re-check the queries below and run
  ``tests/serving``. A different revision is reported in the log, not refused.

Both keep no connection open between calls: the follower polls every few seconds.
"""

from __future__ import annotations

import json
import logging
import posixpath
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.request import url2pathname

from agrolake.errors import UsageError
from agrolake.serving.exceptions import (
    ModelNotFound,
    RegistryUnavailable,
    ServingError,
    UnservableModel,
)

log = logging.getLogger("agrolake.serving")

#: MLflow 3.17.2's alembic head: the schema the SQLite queries were written against.
SCHEMA_REVISION = "dc11669786a5"
PINNED_MLFLOW = "3.17.2"
_DELETED = "Deleted_Internal"  # mlflow.entities.model_registry.model_version_stages
_WORKSPACE = "default"  # the only workspace when MLflow's workspaces are off
_LATEST = "latest"  # MLflow's reserved alias: the highest version
_NAME = re.compile(r"^[^/@]+$")


@dataclass(frozen=True)
class ModelSpec:
    """``name@alias`` (followed) or ``name/version`` (pinned); ``models:/`` prefix allowed."""

    name: str
    alias: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        spec = text.strip().removeprefix("models:/")
        if "@" in spec:
            name, _, alias = spec.partition("@")
            if _NAME.match(name) and alias and _NAME.match(alias):
                return cls(name, alias=alias)
        elif "/" in spec:
            name, _, version = spec.partition("/")
            if _NAME.match(name) and version.isdigit():
                return cls(name, version=str(int(version)))
        raise UsageError(
            f"cannot read model {text!r}: give name@alias (e.g. wine-quality@champion) "
            "or name/version (e.g. wine-quality/3)"
        )

    def __str__(self) -> str:
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


@dataclass(frozen=True)
class VersionInfo:
    """One registered model version: what serving needs to load it."""

    name: str
    version: str
    run_id: str | None
    source: str | None
    status: str
    #: The run's artifact root when the registry knows it (the SQLite reader).
    run_artifact_uri: str | None = None

    @property
    def ready(self) -> bool:
        return self.status == "READY"


class Registry(Protocol):
    """Resolves a :class:`ModelSpec` and reads a version's run artifacts."""

    location: str

    def resolve(self, spec: ModelSpec) -> VersionInfo: ...

    def read_artifact(self, info: VersionInfo, path: str) -> bytes | None:
        """The artifact's bytes, ``None`` if the run has no such artifact.

        Raises :class:`UnservableModel` if the artifacts cannot be read from here
        (not local in the embedded profile).
        """
        ...


def open_registry(tracking_uri: str, *, token: str | None = None) -> Registry:
    """The reader for ``tracking_uri``: REST for ``http[s]://`` (sending ``token`` as a
    bearer token when given: ``AGROLAKE_MLFLOW_TOKEN``), SQLite for ``sqlite:///``."""
    scheme = urllib.parse.urlparse(tracking_uri).scheme.lower()
    if scheme in ("http", "https"):
        return RestRegistry(tracking_uri, token=token)
    if scheme == "sqlite":
        return SqliteRegistry(_sqlite_path(tracking_uri))
    raise ServingError(
        f"agrolake serve reads the model registry from a tracking server (http[s]://) or "
        f"the embedded SQLite file, not from {scheme or 'a plain path'}:// URIs; "
        "set AGROLAKE_MLFLOW_TRACKING_URI to the tracking server"
    )


def _sqlite_path(uri: str) -> Path:
    # sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy's convention).
    rest = uri.split(":", 1)[1]
    if not rest.startswith("///"):
        raise ServingError(f"cannot read the SQLite URI {uri!r}: expected sqlite:///path")
    path = rest[3:].split("?", 1)[0]
    return Path(urllib.parse.unquote(path)).expanduser().resolve()


# --------------------------------------------------------------------------- SQLite


class SqliteRegistry:
    """The embedded registry: MLflow's SQLite file, read-only, plus the local artifact folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._revision_checked = False

    def _connect(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise ModelNotFound(
                f"no model registry at {self.path}: train a model first (agrolake train)"
            )
        try:
            # mode=ro: never creates, migrates or locks the file for writing.
            return sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error as exc:
            raise RegistryUnavailable(f"cannot open the registry at {self.path}: {exc}") from exc

    def resolve(self, spec: ModelSpec) -> VersionInfo:
        with closing(self._connect()) as conn:
            try:
                self._check_revision(conn)
                row = self._query(conn, spec)
                if row is None:
                    raise self._not_found(conn, spec)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise RegistryUnavailable(
                        f"the registry at {self.path} is busy: {exc}"
                    ) from exc
                raise ServingError(
                    f"cannot read the MLflow registry at {self.path} ({exc}); this reader "
                    f"expects the schema of MLflow {PINNED_MLFLOW}"
                ) from exc
            except sqlite3.DatabaseError as exc:
                raise ServingError(f"{self.path} is not an MLflow registry: {exc}") from exc
        version, run_id, source, status, artifact_uri = row
        return VersionInfo(spec.name, str(version), run_id, source, str(status), artifact_uri)

    def _query(self, conn: sqlite3.Connection, spec: ModelSpec) -> tuple[Any, ...] | None:
        workspace = _has_workspaces(conn)
        mv_ws = "AND mv.workspace = :ws" if workspace else ""
        select = (
            "SELECT mv.version, mv.run_id, mv.source, mv.status, r.artifact_uri "
            "FROM model_versions mv LEFT JOIN runs r ON r.run_uuid = mv.run_id "
        )
        params: dict[str, str | int] = {"name": spec.name, "ws": _WORKSPACE, "deleted": _DELETED}
        if spec.alias is not None and spec.alias.lower() == _LATEST:
            sql = (
                f"{select} WHERE mv.name = :name AND mv.current_stage != :deleted {mv_ws} "
                "ORDER BY mv.version DESC LIMIT 1"
            )
        elif spec.alias is not None:
            a_ws = "AND a.workspace = mv.workspace AND a.workspace = :ws" if workspace else ""
            sql = (
                f"{select} JOIN registered_model_aliases a "
                f"ON a.name = mv.name AND a.version = mv.version {a_ws} "
                "WHERE a.name = :name AND a.alias = :alias AND mv.current_stage != :deleted"
            )
            params["alias"] = spec.alias
        else:
            sql = (
                f"{select} WHERE mv.name = :name AND mv.version = :version "
                f"AND mv.current_stage != :deleted {mv_ws}"
            )
            params["version"] = int(spec.version or 0)
        row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
        return row

    def _not_found(self, conn: sqlite3.Connection, spec: ModelSpec) -> ModelNotFound:
        exists = conn.execute(
            "SELECT 1 FROM registered_models WHERE name = ?", (spec.name,)
        ).fetchone()
        where = f"in the registry at {self.path}"
        if not exists:
            return ModelNotFound(f"no registered model {spec.name!r} {where}")
        if spec.alias:
            return ModelNotFound(f"model {spec.name!r} has no alias {spec.alias!r} {where}")
        return ModelNotFound(f"model {spec.name!r} has no version {spec.version} {where}")

    def _check_revision(self, conn: sqlite3.Connection) -> None:
        if self._revision_checked:
            return
        self._revision_checked = True
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            row = None
        revision = row[0] if row else None
        if revision != SCHEMA_REVISION:
            log.warning(
                "the registry at %s has MLflow schema revision %s, not %s (MLflow %s) that "
                "this reader was written for; if serving fails, check "
                "agrolake/serving/model_registry.py",
                self.path,
                revision,
                SCHEMA_REVISION,
                PINNED_MLFLOW,
            )

    def read_artifact(self, info: VersionInfo, path: str) -> bytes | None:
        folder = _local_folder(info.run_artifact_uri)
        if folder is None:
            raise UnservableModel(
                f"the artifacts of run {info.run_id} are not in a local folder "
                f"({info.run_artifact_uri})"
            )
        target = folder / path
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RegistryUnavailable(f"cannot read {target}: {exc}") from exc


def _has_workspaces(conn: sqlite3.Connection) -> bool:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(model_versions)")}
    return "workspace" in columns


def _local_folder(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return Path(url2pathname(parsed.path))
    if parsed.scheme == "" and uri.startswith("/"):
        return Path(uri)
    return None


# --------------------------------------------------------------------------- REST


class RestRegistry:
    """A tracking server's REST API (MLflow 2.x/3.x endpoints)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.location = self.base_url
        self.timeout = timeout
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def _get(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            with closing(exc):
                return int(exc.code), exc.read()
        except (OSError, ValueError) as exc:  # URLError, timeouts, connection reset
            raise RegistryUnavailable(
                f"cannot reach the tracking server at {self.base_url}: {_reason(exc)}"
            ) from exc

    def resolve(self, spec: ModelSpec) -> VersionInfo:
        if spec.alias is not None:
            path = "/api/2.0/mlflow/registered-models/alias"
            params = {"name": spec.name, "alias": spec.alias}
        else:
            path = "/api/2.0/mlflow/model-versions/get"
            params = {"name": spec.name, "version": str(spec.version)}
        status, body = self._get(path, params)
        if status == 200:
            try:
                mv = json.loads(body)["model_version"]
                return VersionInfo(
                    spec.name,
                    str(mv["version"]),
                    mv.get("run_id") or None,
                    mv.get("source"),
                    str(mv.get("status", "READY")),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ServingError(
                    f"unexpected answer from {self.base_url}{path}: {body[:200]!r}"
                ) from exc
        error_code, message = _mlflow_error(body)
        if status == 401:
            raise ServingError(
                f"the tracking server at {self.base_url} wants a token: set "
                "AGROLAKE_MLFLOW_TOKEN to the one `agrolake mlflow-server` was given"
            )
        if status >= 500 or status == 429:
            raise RegistryUnavailable(f"the tracking server answered {status}: {message}")
        if error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or status == 404:
            raise ModelNotFound(f"{spec}: {message} (tracking server {self.base_url})")
        raise ServingError(f"the tracking server answered {status} for {spec}: {message}")

    def read_artifact(self, info: VersionInfo, path: str) -> bytes | None:
        if not info.run_id:
            raise UnservableModel(f"{info.name} version {info.version} has no run")
        # Listed first: for a missing file in S3 the server answers 500, not 404.
        if path not in self._list(info.run_id, posixpath.dirname(path)):
            return None
        status, body = self._get("/get-artifact", {"run_id": info.run_id, "path": path})
        if status == 200:
            return body
        error_code, message = _mlflow_error(body)
        if status == 404 or error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        if status >= 500 or status == 429:
            raise RegistryUnavailable(f"downloading {path} failed ({status}): {message}")
        raise UnservableModel(f"cannot download {path} of run {info.run_id} ({status}): {message}")

    def _list(self, run_id: str, folder: str) -> set[str]:
        """Paths of the files in a run's artifact ``folder`` (``ListArtifacts``)."""
        params = {"run_id": run_id, "path": folder} if folder else {"run_id": run_id}
        status, body = self._get("/api/2.0/mlflow/artifacts/list", params)
        if status != 200:
            _, message = _mlflow_error(body)
            if status >= 500 or status == 429:
                raise RegistryUnavailable(
                    f"listing the artifacts of run {run_id} failed: {message}"
                )
            raise UnservableModel(f"cannot list the artifacts of run {run_id}: {message}")
        try:
            files = json.loads(body).get("files", [])
            return {str(f["path"]) for f in files if not f.get("is_dir")}
        except (ValueError, AttributeError, KeyError, TypeError) as exc:
            raise ServingError(f"unexpected artifact listing for run {run_id}") from exc


def _mlflow_error(body: bytes) -> tuple[str | None, str]:
    try:
        document = json.loads(body)
        return document.get("error_code"), " ".join(str(document.get("message", "")).split())
    except (ValueError, AttributeError):
        return None, " ".join(body[:200].decode(errors="replace").split())


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc)
