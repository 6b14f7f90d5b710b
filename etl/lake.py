"""Flow: the whole lake run, landing → raw → trusted → refined, in one flow run.

``python -m etl.lake`` from the project root; deploy with ``prefect deploy``.
"""

from __future__ import annotations

from prefect import flow, task

from agrolake.lake import open_lake
from agrolake.pipeline import run_all
from etl.report import report


@task(name="run-every-zone", retries=2, retry_delay_seconds=10)
def run_every_zone() -> dict[str, object]:
    with open_lake() as lake:
        summary = run_all(lake)
    for line in summary.lines():
        report(line)
    return {
        "landing": dict(summary.landing.counts),
        "tables": {w.table: w.version for w in summary.trusted.writes + summary.refined.writes},
    }


@flow(name="lake", log_prints=False)
def lake() -> dict[str, object]:
    """Process everything pending in every zone."""
    return run_every_zone()


if __name__ == "__main__":
    lake()
