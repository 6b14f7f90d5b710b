"""Daily weather from Open-Meteo's historical archive, landed per location.

The locations are the municipalities of the enclosures (``trusted.erp_parcels``)
that the locations table knows. Each is asked from the day after the last day
``trusted.weather_daily`` has values for (from any source) to yesterday; a
location with no weather yet from ``AGROLAKE_WEATHER_START_DATE`` (default:
1 January of the earliest harvest year). Each answer is landed as Open-Meteo
sent it, with the ``location_id`` added, as
``api/open-meteo/open-meteo_<location>_<start>_<end>.json``: landing validates
it like any other file (dataset ``weather.open_meteo_daily``).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from agrolake.apis.client import ApiClient
from agrolake.apis.fetch import (
    FetchSummary,
    Request,
    enclosures,
    fetch_all,
    first_day,
    last_days,
    plan,
    yesterday,
)
from agrolake.datasets.builtin import weather_table
from agrolake.datasets.builtin.weather_open_meteo_daily import OPEN_METEO_DAILY
from agrolake.datasets.locations import Location, load_locations
from agrolake.errors import ApiError
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.tables import TableRef
from agrolake.transforms.twin import Season

WEATHER = TableRef("trusted", weather_table.NAME)
SOURCE = "weather (Open-Meteo)"
MEASURED = ("temperature_mean_c", "temperature_min_c", "temperature_max_c", "precipitation_mm")
PREFIX = "api/open-meteo/"


def weather_requests(
    lake: Lake, *, since: date | None = None, until: date | None = None
) -> FetchSummary:
    """What a run would ask (nothing is fetched): one request per location behind."""
    settings = lake.settings
    found = enclosures(lake)
    locations = load_locations(settings)
    wanted = sorted(set(found["location_id"].to_list()))
    summary = FetchSummary(SOURCE, unknown=[x for x in wanted if x not in locations])
    if found.is_empty():
        return summary
    season = Season.parse(settings.season_start, settings.season_end)
    summary.requests, summary.up_to_date = plan(
        [x for x in wanted if x in locations],
        last_days(lake, WEATHER, "location_id", MEASURED),
        first=first_day(found, settings.weather_start_date, season.spans_new_year),
        until=until or yesterday(settings.weather_timezone),
        since=since,
    )
    return summary


def fetch_weather(
    lake: Lake,
    *,
    since: date | None = None,
    until: date | None = None,
    on_progress: ProgressCallback = no_progress,
) -> FetchSummary:
    """Fetch every location behind and land the answers; failures are in the summary."""
    started = time.perf_counter()
    summary = weather_requests(lake, since=since, until=until)
    locations = load_locations(lake.settings)
    with ApiClient(lake.settings, "Open-Meteo") as client:

        def answer(request: Request) -> tuple[dict[str, Any], int] | None:
            return _ask(lake, client, locations[request.subject], request)

        fetch_all(lake, client, summary, answer, _landing_key, on_progress)
    summary.seconds = time.perf_counter() - started
    return summary


def _ask(
    lake: Lake, client: ApiClient, location: Location, request: Request
) -> tuple[dict[str, Any], int] | None:
    params = {
        "latitude": f"{location.latitude:.4f}",
        "longitude": f"{location.longitude:.4f}",
        "start_date": request.start.isoformat(),
        "end_date": request.end.isoformat(),
        "daily": ",".join(OPEN_METEO_DAILY),
        "timezone": lake.settings.weather_timezone,
        "wind_speed_unit": "ms",
    }
    what = f"Open-Meteo for {location.name} ({request})"
    document = client.get_json(lake.settings.open_meteo_url, params, what)
    daily = document.get("daily") if isinstance(document, dict) else None
    days = daily.get("time") if isinstance(daily, dict) else None
    if not isinstance(days, list):
        shown = ", ".join(document) if isinstance(document, dict) else type(document).__name__
        raise ApiError(f"{what}: the answer has no daily.time list (it has: {shown})")
    if not days:
        return None
    return {"location_id": request.subject, **document}, len(days)


def _landing_key(request: Request) -> str:
    return f"{PREFIX}open-meteo_{request.subject}_{request.start}_{request.end}.json"
