"""Flow: raw → trusted, for every raw ingest not yet in the trusted tables.

``python -m etl.trusted`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from etl.artifacts import publish_quality
from etl.events import publish_table_versions
from etl.hooks import NOTIFY, ZONE_TASK
from etl.report import progress, report, run_main, stop_if_interrupted


@task(name="trust-raw-ingests", **ZONE_TASK)
def trust_raw_ingests() -> dict[str, int]:
    from agrolake.lake import open_lake  # in the task: see etl/landing.py
    from agrolake.zones.trusted import process_trusted

    with open_lake() as lake, progress("trusted") as on_progress:
        summary = process_trusted(lake, on_progress=on_progress)
        publish_quality(lake, summary.ingests)
    report(summary.line())
    publish_table_versions(summary.writes)
    stop_if_interrupted(summary.stopped)
    return {w.table: w.version for w in summary.writes}


@flow(name="trusted", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def trusted() -> dict[str, int]:
    """Clean, type and check raw ingests into the trusted Delta tables."""
    return trust_raw_ingests()


if __name__ == "__main__":
    run_main(trusted)
