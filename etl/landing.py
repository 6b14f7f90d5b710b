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
from prefect.cache_policies import NO_CACHE

from etl.hooks import NOTIFY, ZONE_TASK
from etl.maintain import maintain_due_tables
from etl.refined import refine_changed_tables
from etl.report import landing_progress, report, run_main, stop_if_interrupted
from etl.trusted import trust_raw_ingests


@task(name="land-pending-files", **ZONE_TASK)
def land_pending_files(max_files: int | None = None) -> dict[str, int]:
    # The library is imported in the task, not at the top: a run that finds nothing
    # to do then starts in about half the time (docs/orchestration.md, cold start).
    from agrolake.lake import open_lake
    from agrolake.zones.landing import process_landing

    # Not initialised up front: a run that finds landing empty lists it and ends.
    with open_lake(ready=False) as lake, landing_progress() as progress:
        summary = process_landing(
            lake,
            max_files=max_files,
            on_listed=progress.on_listed,
            on_outcome=progress.on_outcome,
        )
    report(summary.line())
    stop_if_interrupted(summary.stopped)
    return dict(summary.counts)


@task(name="count-ingests-awaiting-trusted", cache_policy=NO_CACHE)
def ingests_awaiting_trusted() -> int:
    from agrolake.lake import open_lake
    from agrolake.lake.catalog import RAW

    with open_lake() as lake:
        return lake.catalog.count_by_status().get(RAW, 0)


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
        # Raw ingests an interrupted run left behind are picked up too; a run that
        # finds nothing anywhere loads neither polars nor delta-rs.
        if downstream and (counts.get("raw") or (first and ingests_awaiting_trusted())):
            written = trust_raw_ingests()
            if written:
                refine_changed_tables()
                maintain_due_tables()
        # Landing itself loops until nothing is claimable; another pass is only worth
        # it when files moved (not only retries, which wait) and the zones downstream
        # took a while, so more files may have come.
        moved = any(counts.get(s) for s in ("raw", "invalid", "duplicate"))
        if max_files is not None or not downstream or not moved:
            return totals
        first = False


def empty_landing() -> str | None:
    """``python -m etl.landing`` on an empty landing zone: the summary line of a run that
    finds nothing, from the settings and one listing (no flow run, no catalog); None
    when there is something to land (or the listing fails: the flow says why)."""
    from agrolake.errors import AgrolakeError
    from agrolake.lake import Lake
    from agrolake.lake.listing import list_landing
    from agrolake.zones.landing import LandingSummary

    try:
        listing = list_landing(Lake.from_env().store)
    except AgrolakeError:
        return None
    if listing.pending:
        return None
    return LandingSummary(unreadable=listing.unreadable).line()


if __name__ == "__main__":
    run_main(landing, nothing_to_do=empty_landing)
