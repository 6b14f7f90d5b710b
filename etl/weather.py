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

from prefect import flow

from etl.api_fetch import fetch_into_landing, through_the_lake
from etl.hooks import NOTIFY
from etl.report import run_main


@flow(name="weather", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def fetch_weather(
    since: date | None = None, until: date | None = None, process: bool = True
) -> dict[str, Any]:
    """Land each location's new days of weather, then take them through the lake."""
    return through_the_lake(fetch_into_landing("weather", since, until), process)


if __name__ == "__main__":
    run_main(fetch_weather)
