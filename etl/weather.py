"""Flow: daily weather from Open-Meteo's archive into landing, then through the lake.

``python -m etl.weather`` from the project root; deploy with ``prefect deploy``
(weekly). Each municipality of the enclosures is fetched from the day after its
last known day to yesterday (``since`` forces the first day, ``until`` the last).
A location that fails lands nothing; the run fails with the reason after the
others are landed and taken through trusted and refined.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from agrolake.errors import ApiError
from etl.hooks import NOTIFY
from etl.landing import land_pending_files
from etl.refined import refine_changed_tables
from etl.report import report, run_main
from etl.trusted import trust_raw_ingests


@task(name="fetch-weather", cache_policy=NO_CACHE)
def fetch_into_landing(since: date | None, until: date | None) -> dict[str, Any]:
    # Requests are retried one by one in the library: no task retries. No cache: each
    # call must ask the API (see ZONE_TASK in etl/hooks.py).
    from agrolake.apis import fetch_weather as fetch  # in the task: see etl/landing.py
    from agrolake.lake import open_lake

    with open_lake() as lake:
        summary = fetch(lake, since=since, until=until)
    for line in summary.lines():
        report(line)
    failure = summary.failure()
    return {**summary.as_dict(), "error": failure.message if failure else None}


@flow(name="weather", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def fetch_weather(
    since: date | None = None, until: date | None = None, process: bool = True
) -> dict[str, Any]:
    """Land each location's new days of weather, then take them through the lake."""
    fetched = fetch_into_landing(since, until)
    if process and fetched["landed"]:
        land_pending_files()
        trust_raw_ingests()
        refine_changed_tables()
    if fetched["error"]:
        raise ApiError(fetched["error"])
    return fetched


if __name__ == "__main__":
    run_main(fetch_weather)
