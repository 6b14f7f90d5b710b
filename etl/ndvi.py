"""Flow: NDVI from the teledetection service into landing, then through the lake.

``python -m etl.ndvi`` from the project root; deploy with ``prefect deploy``
(weekly). Needs ``AGROLAKE_NDVI_URL`` and ``AGROLAKE_NDVI_TOKEN``. Each enclosure
is asked from the day after its last NDVI to yesterday (``since`` forces the
first day, ``until`` the last). An enclosure that fails lands nothing; the run
fails with the reason after the others are landed and taken through the lake.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from etl.api_fetch import fetch_into_landing, through_the_lake
from etl.hooks import NOTIFY
from etl.report import run_main


@flow(name="ndvi", log_prints=False, on_failure=NOTIFY, on_crashed=NOTIFY)
def fetch_ndvi(
    since: date | None = None, until: date | None = None, process: bool = True
) -> dict[str, Any]:
    """Land each enclosure's new NDVI from the service, then take it through the lake."""
    return through_the_lake(fetch_into_landing("ndvi", since, until), process)


if __name__ == "__main__":
    run_main(fetch_ndvi)
