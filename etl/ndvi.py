"""Flow: NDVI from the teledetection service into landing, then through the lake.

``python -m etl.ndvi`` from the project root; deploy with ``prefect deploy``
(weekly). Needs ``AGROLAKE_NDVI_URL`` and ``AGROLAKE_NDVI_TOKEN``. Each enclosure
is asked from the day after its last NDVI to yesterday (``since`` forces the
first day, ``until`` the last). An enclosure that fails lands nothing; the run
then fails with the reason, after the others are landed and processed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.states import State

from agrolake.apis import fetch_ndvi as fetch_into_landing
from agrolake.errors import AgrolakeError
from agrolake.lake import open_lake
from agrolake.pipeline import run_all
from etl.outcome import exit_on_failure, outcome
from etl.report import report


@task(name="fetch-ndvi-and-process")
def fetch_and_process(since: date | None, until: date | None, process: bool) -> dict[str, Any]:
    try:
        with open_lake() as lake:
            summary = fetch_into_landing(lake, since=since, until=until)
            for line in summary.lines():
                report(line)
            if process:
                for line in run_all(lake).lines():
                    report(line)
    except AgrolakeError as exc:
        return {"error": exc.message}
    failure = summary.failure()
    return {**summary.as_dict(), "error": failure.message if failure else None}


@flow(name="ndvi", log_prints=False)
def fetch_ndvi(
    since: date | None = None, until: date | None = None, process: bool = True
) -> dict[str, Any] | State:
    """Land each enclosure's new NDVI from the service, then process the lake."""
    return outcome(fetch_and_process(since, until, process))


if __name__ == "__main__":
    exit_on_failure(fetch_ndvi(return_state=True))
