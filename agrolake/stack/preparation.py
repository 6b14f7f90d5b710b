"""What the services need before they serve: PostgreSQL's data folder and databases, the
lake's buckets and catalog, the work pool and every deployment of prefect.yaml.

Each step is idempotent; the compose file's init job runs the same steps
(``agrolake stack prepare``).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from agrolake.errors import ConfigError
from agrolake.lake.private_files import write_private
from agrolake.lake.settings import Settings, load_settings
from agrolake.stack.identities import Role
from agrolake.stack.layout import StackLayout
from agrolake.stack.machine import executable, postgres_bin
from agrolake.stack.programs import WORK_POOL, StackConfig

if TYPE_CHECKING:
    import psycopg

#: A deployment every prefect.yaml of agrolake declares: its absence means "deploy".
_PROBE_DEPLOYMENT = "landing/on-upload"


def init_postgres(config: StackConfig, layout: StackLayout, password: str) -> bool:
    """Create the stack's PostgreSQL data folder (``initdb``) unless it exists; True if
    it did. The superuser ``postgres`` logs in with ``password`` over TCP."""
    pgdata = config.data / "postgres"
    if (pgdata / "PG_VERSION").exists():
        return False
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    password_file = layout.root / ".postgres-password"
    write_private(password_file, password + "\n")
    owner = _system_user(config.postgres_user) if config.postgres_user else None
    if owner is not None:
        # PostgreSQL runs as its own user: it must own its data and reach it.
        _traversable(pgdata.parent)
        os.chown(pgdata, owner.pw_uid, owner.pw_gid)
        os.chown(password_file, owner.pw_uid, owner.pw_gid)
    try:
        _run(
            [
                str(postgres_bin() / "initdb"),
                f"--pgdata={pgdata}",
                "--username=postgres",
                f"--pwfile={password_file}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            "initdb",
            user=config.postgres_user,
            cwd=pgdata,
        )
    finally:
        password_file.unlink(missing_ok=True)
    # Other machines (with --host) log in with the password too.
    with (pgdata / "pg_hba.conf").open("a") as hba:
        hba.write("host all all all scram-sha-256\n")
    return True


def _system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        _run(["useradd", "--system", "--shell", "/usr/sbin/nologin", name], "useradd")
        return pwd.getpwnam(name)


def _traversable(folder: Path) -> None:
    """Let other users pass through ``folder`` and its parents (x, not r: no listing)."""
    for part in [folder, *folder.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH:
            part.chmod(mode | stat.S_IXOTH)


def connect_postgres(catalog_url: str, timeout: float = 10.0) -> psycopg.Connection[Any]:
    """An autocommit connection to the ``postgres`` database of the catalog's server,
    as the catalog's user."""
    import psycopg

    admin = make_url(catalog_url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(
        admin.render_as_string(hide_password=False),
        autocommit=True,
        connect_timeout=max(1, int(timeout)),
    )


def create_databases(config: StackConfig) -> list[str]:
    """Create the databases of the catalog, MLflow and Prefect that do not exist yet."""
    import psycopg
    from psycopg import sql

    urls = [config.catalog_url, config.mlflow_backend_store_uri, config.prefect_database_url]
    wanted = [u.database for u in map(make_url, urls) if u.drivername.startswith("postgres")]
    created = []
    try:
        with connect_postgres(config.catalog_url) as connection:
            for name in dict.fromkeys(wanted):
                exists = "SELECT 1 FROM pg_database WHERE datname = %s"
                if name and not connection.execute(exists, (name,)).fetchone():
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    created.append(name)
    except psycopg.Error as exc:
        where = make_url(config.catalog_url)
        raise ConfigError(
            f"cannot create the stack's databases {', '.join(map(str, wanted))} on "
            f"{where.host}:{where.port}: {str(exc).strip().splitlines()[0]} (create them, "
            "or give a user that may)"
        ) from exc
    return created


def init_lake(settings: Settings) -> list[str]:
    """The zone buckets, MLflow's bucket and the catalog (``agrolake init``)."""
    from agrolake.lake import Lake

    lake = Lake(settings)
    try:
        return lake.init()
    finally:
        lake.close()


def client_settings(config: StackConfig, role: Role) -> Settings:
    """agrolake's settings as a client of the stack with ``role``'s key sees them."""
    fields = {
        name.removeprefix("AGROLAKE_").lower(): value
        for name, value in config.client_env(role).items()
        if name.startswith("AGROLAKE_")
    }
    return load_settings(**fields)


def deploy(env: Mapping[str, str], project: Path, marker: Path | None = None) -> bool:
    """Create the work pool and deploy every deployment of ``project``'s prefect.yaml on
    the Prefect server ``env`` names (``PREFECT_API_URL``), unless ``marker`` says this
    prefect.yaml was deployed there and the server still has its deployments. True if
    it deployed."""
    api = env.get("PREFECT_API_URL")
    if not api:
        raise ConfigError("set PREFECT_API_URL: the deployments go to a Prefect server")
    digest = hashlib.sha256((project / "prefect.yaml").read_bytes() + api.encode()).hexdigest()
    if marker is not None and _read(marker) == digest and _has_deployment(api):
        return False
    prefect = executable("prefect")
    pool = [prefect, "work-pool", "create", WORK_POOL, "--type", "process", "--overwrite"]
    _run(pool, "prefect work-pool create", env=env, cwd=project)
    _run([prefect, "--no-prompt", "deploy", "--all"], "prefect deploy", env=env, cwd=project)
    if marker is not None:
        marker.write_text(digest)
    return True


def client_process_env(client: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with the stack's client settings over it."""
    return {**os.environ, **client, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def _has_deployment(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/deployments/name/{_PROBE_DEPLOYMENT}", timeout=10):
            return True
    except (urllib.error.URLError, OSError):
        return False


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _run(
    argv: list[str],
    what: str,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> None:
    # As another user, take its group too and drop root's: a folder of group root with
    # no group rights would otherwise stop it where "others" may pass.
    group = pwd.getpwnam(user).pw_gid if user else None
    try:
        done = subprocess.run(
            argv,
            env=None if env is None else dict(env),
            cwd=cwd,
            user=user,
            group=group,
            extra_groups=[] if user else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise ConfigError(f"{what} failed (exit code {done.returncode}):\n" + "\n".join(output))
