"""Flow: landing → raw or invalid, for everything pending now.

Run it on its own with ``python -m etl.landing`` from the project root; deploy
it with ``prefect deploy``. One flow run takes a whole batch of files: the
library loops over landing until nothing is left to claim.
"""

from __future__ import annotations

from prefect import flow, task

from agrolake.lake import open_lake
from agrolake.landing import process_landing
from etl.report import report


@task(name="land-pending-files", retries=2, retry_delay_seconds=10)
def land_pending_files(max_files: int | None = None) -> dict[str, int]:
    with open_lake() as lake:
        summary = process_landing(lake, max_files=max_files)
    report(summary.line())
    return dict(summary.counts)


@flow(name="landing", log_prints=False)
def landing(max_files: int | None = None) -> dict[str, int]:
    """Move every pending landing file to raw, or to invalid with its reason."""
    return land_pending_files(max_files)


if __name__ == "__main__":
    landing()
