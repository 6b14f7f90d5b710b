"""A heartbeat that keeps a worker's claims alive while it works on them.

Leases can then be short (``AGROLAKE_LEASE_SECONDS``, 30 s by default): a live
worker renews them every third of a lease from a background thread, however long
one file takes, and a dead worker's claims come free within a lease (at once on
the same host: ``Catalog.expire_gone_workers``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from agrolake.errors import CatalogError

if TYPE_CHECKING:
    from agrolake.lake.catalog.ingests import Catalog

log = logging.getLogger("agrolake.heartbeat")


class Heartbeat:
    """The ingest ids a worker holds, renewed until released."""

    def __init__(self, catalog: Catalog, worker: str, lease: timedelta) -> None:
        self._catalog = catalog
        self._worker = worker
        self._lease = lease
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, ingest_ids: Iterable[str]) -> None:
        with self._lock:
            self._held.update(ingest_ids)

    def release(self, ingest_ids: Iterable[str]) -> None:
        with self._lock:
            self._held.difference_update(ingest_ids)

    def beat(self) -> None:
        """Renew every held lease now (the thread does this every third of a lease)."""
        with self._lock:
            held = list(self._held)
        if not held:
            return
        try:
            still = self._catalog.renew(held, self._worker, self._lease)
        except CatalogError as exc:  # the next beat tries again; the work itself goes on
            log.warning("could not renew %d leases: %s", len(held), exc.message)
            return
        lost = set(held) - still
        if lost:  # finished meanwhile, or taken over after a lease expired: stop renewing
            self.release(lost)

    def _run(self) -> None:
        interval = max(self._lease.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            self.beat()

    @contextmanager
    def running(self) -> Iterator[Heartbeat]:
        self._thread = threading.Thread(target=self._run, name="agrolake-heartbeat", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
