"""Flow: landing → raw or invalid, then the zones downstream of what landed.

Run it on its own with ``python -m etl.landing`` from the project root (landing
only, as the seed's landing ETL); deploy it with ``prefect deploy``: prefect.yaml's
``landing/on-upload`` (woken by S3 events) and ``landing/poll`` (every minute) set
``downstream``, so one flow run takes a whole batch: it lands everything pending,
takes the new ingests to trusted and the refined tables whose inputs changed, and
goes round again while files keep arriving.
"""

from __future__ import annotations

from prefect import flow, task

from etl.hooks import NOTIFY, retry_if_transient
from etl.refined import refine_changed_tables
from etl.report import landing_progress, report, run_main
from etl.trusted import trust_raw_ingests


@task(
    name="land-pending-files",
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_if_transient,
)
def land_pending_files(max_files: int | None = None) -> dict[str, int]:
    # The library is imported in the task, not at the top: a run that finds nothing
    # to do then starts in about half the time (docs/orchestration.md, cold start).
    from agrolake.lake import open_lake
    from agrolake.landing import process_landing

    with open_lake() as lake, landing_progress() as progress:
        summary = process_landing(
            lake,
            max_files=max_files,
            on_listed=progress.on_listed,
            on_outcome=progress.on_outcome,
        )
    report(summary.line())
    return dict(summary.counts)


@flow(name="landing", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def landing(max_files: int | None = None, downstream: bool = False) -> dict[str, int]:
    """Move every pending landing file to raw, or to invalid with its reason; with
    ``downstream``, take what landed through trusted and refined."""
    totals: dict[str, int] = {}
    first = True
    while True:
        counts = land_pending_files(max_files)
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
        # The first pass also picks up raw ingests an interrupted run left behind.
        if downstream and (first or counts.get("raw")):
            trust_raw_ingests()
            refine_changed_tables()
        # Landing itself loops until nothing is claimable; another pass is only worth
        # it when the zones downstream took a while and more files may have come.
        if max_files is not None or not downstream or not counts:
            return totals
        first = False


if __name__ == "__main__":
    run_main(landing)
