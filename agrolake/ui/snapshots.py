"""Tables for a long-lived reader: the lake browser answers many requests, mostly
about versions it has seen before.

Each table stays open and follows new commits (``update_incremental`` reads only
the log entries added since), at most once a second: one page asks about a table
several times, and a page a second behind the lake is still the lake. A version
opened for time travel, and the Arrow dataset and row count of a version, are
kept, since a version never changes. Measured on the demo lake: opening a table
costs 3–14 ms and building its dataset 10–100 ms, following it under 1 ms
(docs/BENCHMARKS.md, "Lake browser")."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import cached_property

import pyarrow.dataset as pads
from deltalake import DeltaTable

from agrolake.lake import Lake
from agrolake.lake.settings import Settings
from agrolake.lake.tables import TableRef, Tables

KEPT_DATASETS = 64
FOLLOW_EVERY = 1.0  # seconds between two looks at a table's log


class SnapshotTables(Tables):
    """``Tables`` that keep open tables, and datasets and row counts per version."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._lock = threading.Lock()
        self._open: dict[str, tuple[DeltaTable, float]] = {}
        self._versions: OrderedDict[tuple[str, int], DeltaTable] = OrderedDict()
        self._datasets: OrderedDict[tuple[str, int], pads.Dataset] = OrderedDict()
        self._rows: dict[tuple[str, int], int] = {}

    def open(self, ref: TableRef, version: int | None = None) -> DeltaTable | None:
        uri = self.uri(ref)
        if version is not None:
            return self._at_version(ref, uri, version)
        now = time.monotonic()
        table, looked = self._open.get(uri, (None, 0.0))
        if table is not None:
            if now - looked < FOLLOW_EVERY:
                return table
            try:
                table.update_incremental()
                self._open[uri] = (table, now)
                return table
            except Exception:  # removed or rewritten under us: open it afresh
                self._open.pop(uri, None)
        table = super().open(ref)
        if table is not None:
            self._open[uri] = (table, now)
        return table

    def _at_version(self, ref: TableRef, uri: str, version: int) -> DeltaTable | None:
        with self._lock:
            found = self._versions.get((uri, version))
        if found is not None:
            return found
        table = super().open(ref, version)
        if table is not None:
            with self._lock:
                self._versions[(uri, version)] = table
                while len(self._versions) > KEPT_DATASETS:
                    self._versions.popitem(last=False)
        return table

    def dataset(self, ref: TableRef, version: int | None = None) -> pads.Dataset | None:
        table = self.open(ref, version)
        if table is None:
            return None
        key = (self.uri(ref), table.version())
        with self._lock:
            found = self._datasets.get(key)
            if found is not None:
                self._datasets.move_to_end(key)
                return found
        dataset = table.to_pyarrow_dataset()
        with self._lock:
            self._datasets[key] = dataset
            while len(self._datasets) > KEPT_DATASETS:
                self._datasets.popitem(last=False)
        return dataset

    def rows(self, ref: TableRef) -> int:
        table = self.open(ref)
        if table is None:
            return 0
        key = (self.uri(ref), table.version())
        if key not in self._rows:
            dataset = self.dataset(ref)
            self._rows[key] = 0 if dataset is None else dataset.count_rows()
        return self._rows[key]


class BrowsedLake(Lake):
    """The lake as the browser reads it: the same settings and catalog, snapshot tables."""

    @cached_property
    def tables(self) -> Tables:
        return SnapshotTables(self.settings)
