"""The NDVI flow's library against a fake teledetection service."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from agrolake.apis import fetch_ndvi
from agrolake.errors import ConfigError
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.pipeline import run_all
from agrolake.samples import ndvi_service_answer
from tests.apis.conftest import farm, landed
from tests.fake_apis import FakeTeledetection

NDVI = TableRef("trusted", "remote_sensing.ndvi")
PREFIX = "api/ndvi/"
START = date(2024, 3, 1)


def ndvi(lake: Lake) -> pl.DataFrame:
    data = lake.tables.read(NDVI)
    assert data is not None
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def service(lake: Lake, server: FakeTeledetection, configured: Callable[..., Lake]) -> Lake:
    return configured(
        lake, ndvi_url=server.ndvi_url, ndvi_token=SecretStr(server.token), ndvi_start_date=START
    )


def test_each_enclosure_is_asked_for_its_new_days_and_the_answers_reach_trusted(
    lake: Lake, teledetection: FakeTeledetection, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    enclosures = sorted(set(farm(lake, tmp_path, rows=4)["enclosure_id"]))
    lake = service(lake, teledetection, configured)

    first = fetch_ndvi(lake, until=date(2024, 4, 30))

    assert first.failed == {}
    bodies = {r.body["id"]: r.body for r in teledetection.requests}
    assert sorted(bodies) == enclosures
    assert all(
        b == {"operation": "ndvi", "initdate": "2024-03-01", "enddate": "2024-04-30", "id": e}
        for e, b in bodies.items()
    )
    assert all(r.headers["Authorization"] == "Bearer s3cret-token" for r in teledetection.requests)
    assert all(r.method == "POST" and r.path == "/ndvi" for r in teledetection.requests)
    keys = landed(lake, PREFIX)
    assert len(keys) == len(enclosures)
    assert json.loads(lake.store.read("landing", keys[0]))["id"] in enclosures

    run_all(lake)
    rows = ndvi(lake)
    expected = sum(
        len(ndvi_service_answer(e, START, date(2024, 4, 30))["values"]) for e in enclosures
    )
    assert rows.height == expected
    assert sorted(set(rows["enclosure_id"])) == enclosures
    assert rows["_source"].unique().to_list() == ["teledetection"]
    assert rows["ndvi"].is_between(-1, 1).all()

    last = rows.group_by("enclosure_id").agg(pl.col("date").max())
    teledetection.requests.clear()
    fetch_ndvi(lake, until=date(2024, 5, 31))
    starts = {r.body["id"]: r.body["initdate"] for r in teledetection.requests}
    assert starts == {e: (d + timedelta(days=1)).isoformat() for e, d in last.iter_rows()}


def test_a_wrong_token_is_refused_once_and_named(
    local_lake: Lake,
    teledetection: FakeTeledetection,
    configured: Callable[..., Lake],
    tmp_path: Path,
) -> None:
    [enclosure] = set(farm(local_lake, tmp_path, rows=1)["enclosure_id"])
    lake = configured(
        local_lake,
        ndvi_url=teledetection.ndvi_url,
        ndvi_token=SecretStr("wrong"),
        ndvi_start_date=START,
    )
    summary = fetch_ndvi(lake, until=date(2024, 4, 30))
    assert len(teledetection.requests) == 1, "a refused token is not retried"
    reason = summary.failed[enclosure]
    assert "refused the credentials (401 Unauthorized); check AGROLAKE_NDVI_TOKEN" in reason
    assert "wrong" not in reason, "the token never shows"
    assert landed(lake, "") == []


def test_without_a_configured_service_the_error_says_what_to_set(local_lake: Lake) -> None:
    with pytest.raises(ConfigError, match="set AGROLAKE_NDVI_URL"):
        fetch_ndvi(local_lake)


def test_an_empty_answer_lands_nothing_and_is_asked_again_next_time(
    local_lake: Lake,
    teledetection: FakeTeledetection,
    configured: Callable[..., Lake],
    tmp_path: Path,
) -> None:
    [enclosure] = set(farm(local_lake, tmp_path, rows=1)["enclosure_id"])
    lake = service(local_lake, teledetection, configured)
    teledetection.empty_for = {enclosure}
    summary = fetch_ndvi(lake, until=date(2024, 3, 20))
    assert summary.empty == [enclosure] and landed(lake, "") == []
    assert "1 without new values" in summary.line()

    teledetection.empty_for = set()
    teledetection.requests.clear()
    fetch_ndvi(lake, until=date(2024, 3, 25))
    assert teledetection.requests[0].body["initdate"] == "2024-03-01"


def test_a_bare_list_answer_is_landed_with_the_enclosure_it_was_asked_for(
    local_lake: Lake,
    teledetection: FakeTeledetection,
    configured: Callable[..., Lake],
    tmp_path: Path,
) -> None:
    [enclosure] = set(farm(local_lake, tmp_path, rows=1)["enclosure_id"])
    lake = service(local_lake, teledetection, configured)
    teledetection.answer_as_list = True
    fetch_ndvi(lake, until=date(2024, 4, 30))
    [key] = landed(lake, PREFIX)
    document = json.loads(lake.store.read("landing", key))
    assert document["id"] == enclosure and isinstance(document["values"], list)
    run_all(lake)
    assert set(ndvi(lake)["enclosure_id"]) == {enclosure}


@pytest.mark.parametrize("failure", [("503", "503", "503"), ("malformed",), ("timeout",) * 3])
def test_failures_land_nothing(
    local_lake: Lake,
    teledetection: FakeTeledetection,
    configured: Callable[..., Lake],
    tmp_path: Path,
    failure: tuple[str, ...],
) -> None:
    [enclosure] = set(farm(local_lake, tmp_path, rows=1)["enclosure_id"])
    lake = service(local_lake, teledetection, configured)
    teledetection.slow_seconds = 1.5
    teledetection.fail_next(*failure)
    summary = fetch_ndvi(lake, until=date(2024, 4, 30))
    assert list(summary.failed) == [enclosure]
    assert summary.failed[enclosure].startswith(f"NDVI for {enclosure} 2024-03-01…2024-04-30: ")
    assert len(teledetection.requests) == len(failure)
    assert landed(lake, "") == []
