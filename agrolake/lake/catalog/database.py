"""Engine creation and migrations for the catalog, on SQLite or PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError

from agrolake.errors import CatalogError, CatalogUnavailable, ConfigError
from agrolake.lake.private_files import private_file

MIGRATIONS = Path(__file__).with_name("migrations")
#: How long a transaction waits for SQLite's write lock before it says it is waiting.
_FIRST_WAIT_SECONDS = 1.0
log = logging.getLogger("agrolake.catalog")


def head_revision() -> str:
    """The newest migration, from the file names (``0003_training_runs.py``): revisions
    are numbered in order, and a test checks this against Alembic's own head."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable catalog URL>"


def create_catalog_engine(url: str, *, lock_timeout: float = 60.0) -> Engine:
    """An engine tuned for many short transactions from several processes.

    On SQLite a transaction waits up to ``lock_timeout`` seconds for another process's
    write lock, says so (a warning of ``agrolake.catalog``) after one, then gives up
    with :class:`CatalogUnavailable`.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"AGROLAKE_CATALOG_URL is not a database URL: {safe_url(url)}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            # The catalog names every file and who sent it: for its owner's eyes only.
            private_file(Path(database))
        # Several landing processes share one SQLite file: wait for the lock, not fail;
        # a long wait is announced, and bounded (see _sqlite_begin).
        engine = create_engine(url, connect_args={"timeout": lock_timeout})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(
            engine, "begin", lambda conn: _sqlite_begin(conn, parsed.database or url, lock_timeout)
        )
        return engine
    try:
        # An unreachable server is one clear error after 10 s, not a hang.
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (ArgumentError, ImportError) as exc:
        raise ConfigError(f"cannot use catalog {safe_url(url)}: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily; BEGIN IMMEDIATE takes the write
    # lock up front so that claim transactions serialise instead of deadlocking.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection, database: str, lock_timeout: float) -> None:
    """BEGIN IMMEDIATE (the write lock up front); a short wait first, then, announced, the
    rest of ``lock_timeout``; then :class:`CatalogUnavailable`."""
    first = min(_FIRST_WAIT_SECONDS, lock_timeout)
    try:
        for wait in (first, lock_timeout - first):
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if "locked" not in str(exc.orig):
                    raise
                if wait == first and lock_timeout > first:
                    log.warning(
                        "waiting for the catalog %s: another agrolake process holds its "
                        "write lock (giving up after %g s)",
                        database,
                        lock_timeout,
                    )
        raise CatalogUnavailable(
            f"the catalog {database} stayed locked by another agrolake process for "
            f"{lock_timeout:g} s; try again when it is done "
            "(AGROLAKE_CATALOG_LOCK_TIMEOUT_SECONDS sets the wait)"
        )
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")


@contextmanager
def translated_errors(url: str, action: str) -> Iterator[None]:
    """Turn database errors into agrolake's, naming the catalog without its password."""
    try:
        yield
    except OperationalError as exc:
        raise CatalogUnavailable(
            f"catalog {safe_url(url)}: {action} failed: {_first_line(exc)}"
        ) from exc
    except DBAPIError as exc:
        raise CatalogError(f"catalog {safe_url(url)}: {action} failed: {_first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise CatalogError(f"catalog {safe_url(url)}: {action} failed: {exc}") from exc


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]


def at_head(engine: Engine) -> bool:
    """Whether the catalog is already at the newest revision (one query, no Alembic)."""
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return False  # no catalog yet
    return current == head_revision()


def migrate(engine: Engine) -> bool:
    """Bring the catalog's tables to the newest revision; safe to run again.

    Returns whether anything was migrated (a new or an upgraded catalog)."""
    if at_head(engine):
        return False  # every flow run opens the lake: skip Alembic (0.3 s) when current
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two `agrolake init` at once must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(74061)"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return True
