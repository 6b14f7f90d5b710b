"""Flow: trusted → refined, rebuilding the refined tables whose inputs changed.

``python -m etl.refined`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from agrolake.lake import open_lake
from agrolake.refined import process_refined
from etl.report import report


@task(name="refine-changed-tables", retries=2, retry_delay_seconds=10)
def refine_changed_tables(force: bool = False) -> dict[str, int]:
    with open_lake() as lake:
        summary = process_refined(lake, force=force)
    report(summary.line())
    return {w.table: w.version for w in summary.writes}


@flow(name="refined", log_prints=False)
def refined(force: bool = False) -> dict[str, int]:
    """Rebuild the digital twin and ML tables from the current trusted tables."""
    return refine_changed_tables(force)


if __name__ == "__main__":
    refined()
