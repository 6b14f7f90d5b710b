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

    def init(self, *, tables: bool = False) -> list[str]:
        """Create the zone buckets and bring the catalog up to date; idempotent.

        The quarantine table is created empty with a new (or upgraded) catalog, or
        when ``tables`` asks (``agrolake init``): so querying it never fails, while
        a flow run on a lake that has it skips opening a Delta table.
        """
        self.settings.home.mkdir(parents=True, exist_ok=True)
        extra = (self.settings.bucket_mlflow,) if self.settings.uses_s3 else ()
        buckets = self.store.ensure_buckets(extra)
        if self.catalog.migrate() or tables:
            from agrolake.lake.tables import QUARANTINE, QUARANTINE_SCHEMA

            self.tables.ensure(QUARANTINE, QUARANTINE_SCHEMA)
        return buckets

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.dispose()


@contextmanager
def open_lake(**overrides: object) -> Iterator[Lake]:
    """A lake from the environment, initialised, closed afterwards (flows, scripts)."""
    lake = Lake.from_env(**overrides)
    try:
        lake.init()
        yield lake
    finally:
        lake.close()
