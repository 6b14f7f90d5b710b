"""The lake: settings, object store and catalog, built once and passed down."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from agrolake.lake.private_files import private_folder
from agrolake.lake.settings import Settings, load_settings

if TYPE_CHECKING:
    from agrolake.lake.catalog import Catalog
    from agrolake.lake.storage import ObjectStore
    from agrolake.lake.tables import Tables


@dataclass
class Lake:
    """Everything a zone transition needs; the CLI and the flows build one each."""

    settings: Settings
    worker: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    )
    _ready: bool = field(default=False, init=False, repr=False)

    @classmethod
    def from_env(cls, **overrides: object) -> Lake:
        return cls(load_settings(**overrides))

    # Imported when first used: a flow run that finds nothing to do should not pay
    # for delta-rs and pyarrow (about a second; see docs/orchestration.md).
    @cached_property
    def store(self) -> ObjectStore:
        from agrolake.lake.storage import ObjectStore

        return ObjectStore(self.settings)

    @cached_property
    def tables(self) -> Tables:
        from agrolake.lake.tables import Tables

        return Tables(self.settings)

    @cached_property
    def catalog(self) -> Catalog:
        from agrolake.lake.catalog import Catalog
        from agrolake.lake.catalog.database import create_catalog_engine

        url = self.settings.catalog
        lock_timeout = self.settings.catalog_lock_timeout_seconds
        return Catalog(url, create_catalog_engine(url, lock_timeout=lock_timeout))

    @property
    def is_ready(self) -> bool:
        """Whether this lake object was made ready (``init`` or ``ready``)."""
        return self._ready

    def init(self, *, tables: bool = False) -> list[str]:
        """Create the zone buckets and bring the catalog up to date; idempotent.

        Only ``agrolake init`` (and the set-up steps: the demo, ``agrolake stack``)
        creates buckets; every other command calls :meth:`ready`, so it works with a
        key limited to its role (docs/security.md).

        The quarantine table is created empty with a new (or upgraded) catalog, or
        when ``tables`` asks (``agrolake init``): so querying it never fails, while
        a flow run on a lake that has it skips opening a Delta table.
        """
        private_folder(self.settings.home)
        extra = (self.settings.bucket_mlflow,) if self.settings.uses_s3 else ()
        buckets = self.store.ensure_buckets(extra)
        if self.catalog.migrate() or tables:
            from agrolake.lake.tables import QUARANTINE, QUARANTINE_SCHEMA

            self.tables.ensure(QUARANTINE, QUARANTINE_SCHEMA)
        self._ready = True
        return buckets

    def ready(self) -> None:
        """What a command needs before it works on the lake: the home, and the catalog
        up to date. No bucket is created (a missing one is named, with `agrolake init`)
        and nothing is written to a zone, so a reader's key is enough. Once per lake
        object, and only when first needed: a flow run that finds nothing to do never
        pays for it (SQLAlchemy, the catalog's revision)."""
        if self._ready:
            return
        private_folder(self.settings.home)
        self.catalog.migrate()
        self._ready = True

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.dispose()


@contextmanager
def open_lake(*, ready: bool = True, **overrides: object) -> Iterator[Lake]:
    """A lake from the environment, ready (:meth:`Lake.ready`: no bucket is created;
    with ``ready=False`` the first step that needs it calls ``ready``), closed
    afterwards (flows, scripts)."""
    lake = Lake.from_env(**overrides)
    try:
        if ready:
            lake.ready()
        yield lake
    finally:
        lake.close()
