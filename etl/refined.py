"""Flow: trusted → refined, rebuilding the refined tables whose inputs changed.

``python -m etl.refined`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from etl.events import publish_table_versions
from etl.hooks import NOTIFY, ZONE_TASK
from etl.report import progress, report, run_main


@task(name="refine-changed-tables", **ZONE_TASK)
def refine_changed_tables(force: bool = False) -> dict[str, int]:
    from agrolake.lake import open_lake  # in the task: see etl/landing.py
    from agrolake.zones.refined import process_refined

    with open_lake() as lake, progress("refined") as on_progress:
        summary = process_refined(lake, force=force, on_progress=on_progress)
    report(summary.line())
    publish_table_versions(summary.writes)
    return {w.table: w.version for w in summary.writes}


@flow(name="refined", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def refined(force: bool = False) -> dict[str, int]:
    """Rebuild the digital twin and ML tables from the current trusted tables."""
    return refine_changed_tables(force)


if __name__ == "__main__":
    run_main(refined)
