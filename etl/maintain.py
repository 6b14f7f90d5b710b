"""Flow: table maintenance, weekly (compaction, checkpoints, a vacuum that keeps the
versions models and lineage need readable).

``python -m etl.maintain`` from the project root maintains every table now; the
``maintain/weekly`` deployment (prefect.yaml) runs it every Sunday night.
"""

from __future__ import annotations

from prefect import flow, task

from etl.hooks import NOTIFY, ZONE_TASK
from etl.report import progress, report, run_main


@task(name="maintain-tables", **ZONE_TASK)
def maintain_tables(tables: list[str] | None = None, dry_run: bool = False) -> dict[str, int]:
    from agrolake.lake import open_lake  # in the task: see etl/landing.py
    from agrolake.maintenance import maintain

    with open_lake() as lake, progress("maintaining") as on_progress:
        done = maintain(lake, tables, dry_run=dry_run, on_progress=on_progress)
    for line in done.lines():
        report(line)
    return {t.table: len(t.removed_files) for t in done.tables}


@task(name="maintain-due-tables", **ZONE_TASK)
def maintain_due_tables() -> dict[str, int]:
    """The tables with AGROLAKE_MAINTAIN_AFTER_COMMITS commits since their last maintenance."""
    from agrolake.lake import open_lake
    from agrolake.maintenance import maintain_due

    with open_lake() as lake:
        done = maintain_due(lake)
    if done is None:
        return {}
    for line in done.lines():
        report(line)
    return {t.table: len(t.removed_files) for t in done.tables}


@flow(name="maintain", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def maintain(tables: list[str] | None = None, dry_run: bool = False) -> dict[str, int]:
    """Compact, checkpoint and vacuum the lake's tables (all, or the named ones)."""
    return maintain_tables(tables, dry_run)


if __name__ == "__main__":
    run_main(maintain)
