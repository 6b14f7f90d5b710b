"""The two halves every API ingestion flow shares: fetch into landing, then take what
landed through the lake (landing, trusted, refined) like any dropped file."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE

from agrolake.errors import ApiError
from etl.landing import land_pending_files
from etl.refined import refine_changed_tables
from etl.report import progress, report
from etl.trusted import trust_raw_ingests

Source = Literal["weather", "ndvi"]


@task(name="fetch-from-api", task_run_name="fetch-{source}", cache_policy=NO_CACHE)
def fetch_into_landing(source: Source, since: date | None, until: date | None) -> dict[str, Any]:
    # Requests are retried one by one in the library: no task retries. No cache: each
    # call must ask the API (see ZONE_TASK in etl/hooks.py).
    from agrolake import apis  # in the task: see etl/landing.py
    from agrolake.lake import open_lake

    fetch = apis.fetch_weather if source == "weather" else apis.fetch_ndvi
    with open_lake() as lake, progress(f"fetching {source}") as on_progress:
        summary = fetch(lake, since=since, until=until, on_progress=on_progress)
    for line in summary.lines():
        report(line)
    failure = summary.failure()
    return {**summary.as_dict(), "error": failure.message if failure else None}


def through_the_lake(fetched: dict[str, Any], process: bool) -> dict[str, Any]:
    """Take what was landed through every zone; then fail the run if a request failed
    (what the other requests landed is kept and processed first)."""
    if process and fetched["landed"]:
        land_pending_files()
        trust_raw_ingests()
        refine_changed_tables()
    if fetched["error"]:
        raise ApiError(fetched["error"])
    return fetched
