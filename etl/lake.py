"""Flow: the whole lake run, landing → raw → trusted → refined, in one flow run.

``python -m etl.lake`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from agrolake.lake import open_lake
from agrolake.pipeline import run_all
from etl.artifacts import publish_quality
from etl.events import publish_table_versions
from etl.hooks import NOTIFY, ZONE_TASK
from etl.report import landing_progress, report, run_main, stop_if_interrupted


@task(name="run-every-zone", **ZONE_TASK)
def run_every_zone() -> dict[str, object]:
    with open_lake() as lake, landing_progress() as progress:
        summary = run_all(
            lake, on_listed=progress.on_listed, on_outcome=progress.on_outcome,
            on_progress=progress.on_progress,
        )  # fmt: skip
        publish_quality(lake, summary.trusted.ingests)
    for line in summary.lines():
        report(line)
    publish_table_versions(summary.trusted.writes + summary.refined.writes)
    stop_if_interrupted(summary.stopped)
    return {
        "landing": dict(summary.landing.counts),
        "tables": {w.table: w.version for w in summary.trusted.writes + summary.refined.writes},
    }


@flow(name="lake", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def lake() -> dict[str, object]:
    """Process everything pending in every zone."""
    return run_every_zone()


if __name__ == "__main__":
    run_main(lake)
