"""NDVI from the teledetection service, landed per enclosure.

The service is the seed's: ``POST AGROLAKE_NDVI_URL`` with
``{"operation", "initdate", "enddate", "id"}`` (the enclosure id) and the token
as ``Authorization: Bearer``; it answers the dated NDVI values of the enclosure,
``{"id": …, "values": [{"date": "2024-05-03", "ndvi": 0.61}, …]}`` (a bare list
of values is accepted too). Each enclosure of ``trusted.erp_parcels`` is asked
from the day after its last NDVI in ``trusted.remote_sensing_ndvi`` to
yesterday; an answer with values lands as
``api/ndvi/ndvi_<enclosure>_<start>_<end>.json`` (dataset
``remote_sensing.ndvi_service``), an empty one lands nothing.
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
from agrolake.datasets.builtin.remote_sensing_ndvi_files import NDVI as NDVI_TABLE
from agrolake.errors import ApiError, ConfigError
from agrolake.lake import Lake
from agrolake.lake.progress import ProgressCallback, no_progress
from agrolake.lake.tables import TableRef
from agrolake.transforms.twin import Season

NDVI = TableRef("trusted", NDVI_TABLE.table_name)
SOURCE = "ndvi (teledetection)"
PREFIX = "api/ndvi/"


def ndvi_requests(
    lake: Lake, *, since: date | None = None, until: date | None = None
) -> FetchSummary:
    """What a run would ask (nothing is fetched): one request per enclosure behind."""
    settings = lake.settings
    found = enclosures(lake)
    summary = FetchSummary(SOURCE)
    if found.is_empty():
        return summary
    season = Season.parse(settings.season_start, settings.season_end)
    summary.requests, summary.up_to_date = plan(
        sorted(set(found["enclosure_id"].to_list())),
        last_days(lake, NDVI, "enclosure_id", ("ndvi",)),
        first=first_day(found, settings.ndvi_start_date, season.spans_new_year),
        until=until or yesterday(settings.weather_timezone),
        since=since,
    )
    return summary


def fetch_ndvi(
    lake: Lake,
    *,
    since: date | None = None,
    until: date | None = None,
    on_progress: ProgressCallback = no_progress,
) -> FetchSummary:
    """Ask the service for every enclosure behind and land the answers with values."""
    settings = lake.settings
    if not settings.ndvi_url:
        raise ConfigError(
            "no NDVI service configured: set AGROLAKE_NDVI_URL (and AGROLAKE_NDVI_TOKEN), "
            "or drop NDVI files (date, enclosure_id, ndvi) in landing"
        )
    started = time.perf_counter()
    summary = ndvi_requests(lake, since=since, until=until)
    token = settings.ndvi_token.get_secret_value() if settings.ndvi_token else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with ApiClient(
        settings, "the NDVI service", headers=headers, credentials_hint="AGROLAKE_NDVI_TOKEN"
    ) as client:

        def answer(request: Request) -> tuple[dict[str, Any], int] | None:
            return _ask(lake, client, request)

        fetch_all(lake, client, summary, answer, _landing_key, on_progress)
    summary.seconds = time.perf_counter() - started
    return summary


def _ask(lake: Lake, client: ApiClient, request: Request) -> tuple[dict[str, Any], int] | None:
    operation = lake.settings.ndvi_operation
    body = {
        "operation": operation,
        "initdate": request.start.isoformat(),
        "enddate": request.end.isoformat(),
        "id": request.subject,
    }
    what = f"NDVI for {request}"
    document = client.post_json(str(lake.settings.ndvi_url), body, what)
    if isinstance(document, list):
        document = {"id": request.subject, "operation": operation, "values": document}
    values = document.values() if isinstance(document, dict) else ()
    lists = [v for v in values if isinstance(v, list)]
    if len(lists) != 1 or not all(isinstance(v, dict) for v in lists[0]):
        shown = ", ".join(document) if isinstance(document, dict) else type(document).__name__
        raise ApiError(f"{what}: the answer holds no list of dated values (it has: {shown})")
    if not lists[0]:
        return None
    # The enclosure asked for names the rows, unless the service named it itself.
    return {"id": request.subject, **document}, len(lists[0])


def _landing_key(request: Request) -> str:
    return f"{PREFIX}ndvi_{request.subject}_{request.start}_{request.end}.json"
