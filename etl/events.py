"""Prefect events for new table versions: ``agrolake.table.updated``.

Deployments trigger on them (the retraining deployment in prefect.yaml matches
``agrolake.table.refined.ml_wine_quality``). The resource id names the table, so a
trigger can match one table; the version travels as a label and in the payload.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from prefect.events import emit_event

TABLE_UPDATED = "agrolake.table.updated"


class TableWrite(Protocol):
    """What a library summary says of a table version it wrote
    (``agrolake.zones.trusted.TableWrite``; not imported, so a flow that writes
    nothing does not load polars to say so)."""

    @property
    def table(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def rows(self) -> int: ...


def table_resource_id(table: str) -> str:
    return f"agrolake.table.{table}"


def publish_table_versions(writes: Iterable[TableWrite]) -> None:
    for write in writes:
        emit_event(
            event=TABLE_UPDATED,
            resource={
                "prefect.resource.id": table_resource_id(write.table),
                "prefect.resource.name": write.table,
                "agrolake.table": write.table,
                "agrolake.version": str(write.version),
            },
            payload={"table": write.table, "version": write.version, "rows": write.rows},
        )


def publish_from_outside_a_flow(writes: Iterable[TableWrite], timeout: float = 30.0) -> int:
    """Publish from a process that is no flow run (``agrolake run`` and ``demo`` on the
    services profile), then wait until the events are sent: a flow run's engine waits
    for them at its end, a plain command would exit first. Nothing without a Prefect
    API (``PREFECT_API_URL``). Returns how many were published."""
    from prefect.events.worker import EventsWorker
    from prefect.settings import PREFECT_API_URL

    chosen = list(writes)
    if not chosen or not PREFECT_API_URL.value():
        return 0
    # Its queue logs "Still processing items" while draining, on no handler but Python's
    # last resort (stderr): a line the user did not ask for.
    logging.getLogger(EventsWorker.__name__).setLevel(logging.ERROR)
    publish_table_versions(chosen)
    EventsWorker.drain_all(timeout=timeout)
    return len(chosen)
