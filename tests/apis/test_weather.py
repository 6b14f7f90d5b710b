"""The weather flow's library against a fake Open-Meteo: what it asks, lands, retries, refuses."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from agrolake.apis import fetch_weather, weather_requests
from agrolake.datasets.builtin.weather_open_meteo_daily import OPEN_METEO_DAILY
from agrolake.datasets.locations import shipped_locations
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.pipeline import run_all
from tests.apis.conftest import farm, landed
from tests.fake_apis import FakeOpenMeteo

WEATHER = TableRef("trusted", "weather.daily")
PREFIX = "api/open-meteo/"
START = date(2024, 3, 1)


def weather(lake: Lake) -> pl.DataFrame:
    data = lake.tables.read(WEATHER)
    assert data is not None
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame


def asked(server: FakeOpenMeteo) -> dict[str, tuple[str, str]]:
    """Per location asked (by its coordinates), the days asked for."""
    by_point = {
        (f"{loc.latitude:.4f}", f"{loc.longitude:.4f}"): loc.location_id
        for loc in shipped_locations()
    }
    return {
        by_point[(r.query["latitude"], r.query["longitude"])]: (
            r.query["start_date"],
            r.query["end_date"],
        )
        for r in server.requests
    }


def test_first_run_asks_from_the_start_and_the_next_only_for_new_days(
    lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    enclosures = farm(lake, tmp_path, rows=6)
    places = sorted(set(enclosures["location_id"]))
    lake = configured(lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)

    first = fetch_weather(lake, until=date(2024, 3, 20))

    assert first.failed == {} and len(first.landed) == len(places)
    assert asked(open_meteo) == dict.fromkeys(places, ("2024-03-01", "2024-03-20"))
    request = open_meteo.requests[0]
    assert request.path == "/v1/archive"
    assert request.query["daily"].split(",") == list(OPEN_METEO_DAILY)
    assert request.query["timezone"] == "Europe/Madrid"
    assert request.query["wind_speed_unit"] == "ms"
    keys = landed(lake, PREFIX)
    assert keys == sorted(f"{PREFIX}open-meteo_{p}_2024-03-01_2024-03-20.json" for p in places)
    document = json.loads(lake.store.read("landing", keys[0]))
    assert document["location_id"] == keys[0].split("_")[1]
    assert len(document["daily"]["time"]) == 20 and "daily_units" in document

    run_all(lake)
    rows = weather(lake)
    assert rows.group_by("location_id").len().sort("location_id").rows() == [
        (p, 20) for p in places
    ]
    assert rows["_source"].unique().to_list() == ["Open-Meteo"]

    open_meteo.requests.clear()
    second = fetch_weather(lake, until=date(2024, 3, 27))
    assert asked(open_meteo) == dict.fromkeys(places, ("2024-03-21", "2024-03-27"))
    assert [x.rows for x in second.landed] == [7] * len(places)
    run_all(lake)
    assert weather(lake).group_by("location_id").len()["len"].to_list() == [27] * len(places)
    assert weather(lake).select("location_id", "date").is_duplicated().sum() == 0

    open_meteo.requests.clear()
    third = fetch_weather(lake, until=date(2024, 3, 27))
    assert open_meteo.requests == [] and third.requests == []
    assert third.up_to_date == len(places)


def test_days_the_archive_has_not_filled_yet_are_asked_again(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    farm(local_lake, tmp_path, rows=1)
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.pending_days = 2
    fetch_weather(lake, until=date(2024, 3, 10))
    run_all(lake)
    stored = weather(lake)
    assert stored.height == 10, "the null days are kept: the day exists, its values are unknown"
    assert stored.filter(pl.col("date") > date(2024, 3, 8))["temperature_max_c"].null_count() == 2

    open_meteo.requests.clear()
    open_meteo.pending_days = 0
    fetch_weather(lake, until=date(2024, 3, 12))
    [(start, end)] = asked(open_meteo).values()
    assert (start, end) == ("2024-03-09", "2024-03-12")
    run_all(lake)
    assert weather(lake).height == 12 and weather(lake)["temperature_max_c"].null_count() == 0


def test_429_is_retried_after_the_wait_the_server_asks(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    farm(local_lake, tmp_path, rows=1)
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.retry_after = "0.4"
    open_meteo.fail_next("429")

    summary = fetch_weather(lake, until=date(2024, 3, 5))

    assert summary.failed == {} and len(summary.landed) == 1
    assert len(open_meteo.requests) == 2
    assert open_meteo.requests[1].at - open_meteo.requests[0].at >= 0.4
    assert len(landed(lake, PREFIX)) == 1


@pytest.mark.parametrize("answer", ["500", "503"])
def test_a_server_error_three_times_fails_and_lands_nothing(
    local_lake: Lake,
    open_meteo: FakeOpenMeteo,
    configured: Callable[..., Lake],
    tmp_path: Path,
    answer: str,
) -> None:
    [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.fail_next(answer, answer, answer)

    summary = fetch_weather(lake, until=date(2024, 3, 5))

    assert len(open_meteo.requests) == 3
    assert list(summary.failed) == [place] and summary.landed == []
    reason = summary.failed[place]
    assert f"answered {answer}" in reason and "upstream trouble" in reason
    assert "3 attempts" in reason
    assert landed(lake, "") == []
    failure = summary.failure()
    assert failure is not None and "\n" not in failure.message and place in failure.message


def test_two_errors_then_success_lands_the_answer(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    farm(local_lake, tmp_path, rows=1)
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.fail_next("500", "503")
    summary = fetch_weather(lake, until=date(2024, 3, 5))
    assert summary.failed == {} and len(landed(lake, PREFIX)) == 1
    assert len(open_meteo.requests) == 3


def test_timeouts_are_retried_then_fail(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
    lake = configured(
        local_lake,
        open_meteo_url=open_meteo.archive_url,
        weather_start_date=START,
        api_timeout_seconds=0.3,
    )
    open_meteo.slow_seconds = 1.5
    open_meteo.fail_next("timeout")
    recovered = fetch_weather(lake, until=date(2024, 3, 5))
    assert recovered.failed == {} and len(landed(lake, PREFIX)) == 1

    open_meteo.requests.clear()
    open_meteo.fail_next("timeout", "timeout", "timeout")
    failed = fetch_weather(lake, since=date(2024, 4, 1), until=date(2024, 4, 5))
    assert len(open_meteo.requests) == 3
    assert "did not answer within 0.3 s" in failed.failed[place]
    assert len(landed(lake, PREFIX)) == 1, "nothing more landed"


def test_malformed_json_fails_at_once_and_lands_nothing(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.fail_next("malformed")

    summary = fetch_weather(lake, until=date(2024, 3, 5))

    assert len(open_meteo.requests) == 1, "a malformed answer is not retried"
    assert "malformed JSON" in summary.failed[place]
    assert landed(lake, "") == []


def test_a_refused_request_reports_the_api_reason_without_retrying(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.fail_next("400")
    summary = fetch_weather(lake, until=date(2024, 3, 5))
    assert len(open_meteo.requests) == 1
    assert "400 Bad Request: Parameter 'daily' is invalid" in summary.failed[place]


def test_one_failing_location_does_not_stop_the_others(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    places = sorted(set(farm(local_lake, tmp_path, rows=8)["location_id"]))
    assert len(places) >= 3
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    open_meteo.fail_next("500", "500", "500")  # the first location asked gets them all

    summary = fetch_weather(lake, until=date(2024, 3, 5))

    [failed] = summary.failed
    assert sorted([failed, *(x.subject for x in summary.landed)]) == places
    assert not any(failed in key.split("_") for key in landed(lake, PREFIX))
    assert len(landed(lake, PREFIX)) == len(places) - 1


def test_requests_go_in_batches_with_a_pause_between(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    places = sorted(set(farm(local_lake, tmp_path, rows=8)["location_id"]))
    assert len(places) >= 3
    lake = configured(
        local_lake,
        open_meteo_url=open_meteo.archive_url,
        weather_start_date=START,
        api_batch_size=2,
        api_batch_pause_seconds=0.5,
    )
    fetch_weather(lake, until=date(2024, 3, 3))
    at = [r.at for r in open_meteo.requests]
    assert len(at) == len(places)
    gaps = [b - a for a, b in itertools.pairwise(at)]
    # A pause after each batch of two: between requests 2 and 3, 4 and 5, ...
    assert all(gaps[i] >= 0.5 for i in range(1, len(gaps), 2))


def test_explicit_since_fetches_again_from_that_day(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    farm(local_lake, tmp_path, rows=1)
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    fetch_weather(lake, until=date(2024, 3, 10))
    run_all(lake)
    plan = weather_requests(lake, since=date(2024, 3, 5), until=date(2024, 3, 10))
    assert [(r.start, r.end) for r in plan.requests] == [(date(2024, 3, 5), date(2024, 3, 10))]


def test_default_start_is_the_first_of_january_of_the_earliest_harvest(
    local_lake: Lake, tmp_path: Path
) -> None:
    enclosures = farm(local_lake, tmp_path, rows=6)
    plan = weather_requests(local_lake, until=date(2030, 1, 1))
    earliest = date(int(enclosures["harvest_year"].min()), 1, 1)  # type: ignore[arg-type]
    assert {r.start for r in plan.requests} == {earliest}
    assert plan.up_to_date == 0


def test_until_defaults_to_yesterday(local_lake: Lake, tmp_path: Path) -> None:
    farm(local_lake, tmp_path, rows=1)
    [request] = weather_requests(local_lake).requests
    assert date.today() - timedelta(days=2) <= request.end <= date.today()


def test_no_enclosures_means_nothing_to_ask(local_lake: Lake, open_meteo: FakeOpenMeteo) -> None:
    summary = fetch_weather(local_lake, until=date(2024, 3, 5))
    assert summary.requests == [] and open_meteo.requests == []
    assert summary.line().startswith("weather (Open-Meteo): 0 requests")


def test_municipalities_missing_from_the_locations_table_are_named_and_can_be_added(
    local_lake: Lake, open_meteo: FakeOpenMeteo, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    from tests.corpus import _xlsx

    parcels = [
        ["Cosecha", "Provincia Id", "Municipio Id", "Poligono", "Parcela", "Recinto", "Agregado",
         "Zona", "SuperficieSIGPAC", "SuperficieCultivo", "Cultivo Id"],
        ["2024", "45", "901", "3", "12", "1", "0", "0", "1,5", "1,4", "104"],
    ]  # fmt: skip
    treatments = [
        ["MovimientoCosecha", "MovimientoFechaDeInicio", "Producto", "ParcelaProvinciaId",
         "ParcelaMunicipioId", "ParcelaPoligono", "Parcela", "ParcelaRecinto", "ParcelaAgregado",
         "ParcelaZona", "MovimientoDosis"],
        ["2024", "03/04/2024", "25781", "45", "901", "3", "12", "1", "0", "0", "2,5"],
    ]  # fmt: skip
    local_lake.store.put(
        "landing", "Recintos.xlsx", _xlsx({"Parcelas": parcels, "Tratamientos": treatments})
    )
    run_all(local_lake)
    lake = configured(local_lake, open_meteo_url=open_meteo.archive_url, weather_start_date=START)
    summary = fetch_weather(lake, until=date(2024, 3, 5))
    assert summary.unknown == ["45-901"] and summary.requests == []
    assert "1 without a location" in summary.line()

    extra = tmp_path / "mis_municipios.csv"
    extra.write_text(
        "province_id;municipality_id;municipality;latitude;longitude;aemet_station\n"
        "45;901;Villa Inventada;39,8628;-4,0273;\n",
        encoding="utf-8",
    )
    lake = configured(
        local_lake,
        open_meteo_url=open_meteo.archive_url,
        weather_start_date=START,
        locations_file=extra,
    )
    summary = fetch_weather(lake, until=date(2024, 3, 5))
    assert summary.unknown == [] and [x.subject for x in summary.landed] == ["45-901"]
    request = open_meteo.requests[-1]
    assert (request.query["latitude"], request.query["longitude"]) == ("39.8628", "-4.0273")


def test_a_bad_answer_shape_is_one_line(
    local_lake: Lake, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    """An endpoint that answers JSON without daily values (a wrong URL, say)."""

    class NoDaily(FakeOpenMeteo):
        def handle(self, handler, path, query, body):  # type: ignore[no-untyped-def]
            return 200, {"latitude": 41.0, "hourly": {"time": []}}

    server = NoDaily()
    try:
        [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
        lake = configured(local_lake, open_meteo_url=server.archive_url, weather_start_date=START)
        summary = fetch_weather(lake, until=date(2024, 3, 5))
    finally:
        server.stop()
    assert "no daily.time list (it has: latitude, hourly)" in summary.failed[place]
    assert landed(lake, "") == []


def test_an_unreachable_api_is_retried_then_named(
    local_lake: Lake, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    [place] = set(farm(local_lake, tmp_path, rows=1)["location_id"])
    server = FakeOpenMeteo()
    url = server.archive_url
    server.stop()  # nothing listens there any more
    lake = configured(local_lake, open_meteo_url=url, weather_start_date=START)
    started = time.monotonic()
    summary = fetch_weather(lake, until=date(2024, 3, 5))
    assert "Open-Meteo cannot be reached" in summary.failed[place]
    assert "3 attempts" in summary.failed[place]
    assert time.monotonic() - started < 30


def test_a_host_that_does_not_resolve_stops_the_run_at_the_first_request(
    local_lake: Lake, configured: Callable[..., Lake], tmp_path: Path
) -> None:
    """No DNS (or a wrong host) is not transient: no retries, and no other request."""
    from agrolake.errors import ApiUnreachable

    places = set(farm(local_lake, tmp_path, rows=8)["location_id"])
    assert len(places) >= 3
    lake = configured(
        local_lake,
        open_meteo_url="http://agrolake-test.invalid/v1/archive",  # .invalid never resolves
        weather_start_date=START,
    )
    steps: list[tuple[str, int, int | None]] = []

    with pytest.raises(ApiUnreachable) as caught:
        fetch_weather(lake, until=date(2024, 3, 5), on_progress=lambda *a: steps.append(a))

    message = caught.value.message
    assert "agrolake-test.invalid does not resolve or the network is down" in message
    assert f"stopped at request 1 of {len(places)}" in message
    assert "attempts" not in message  # asked once
    assert len(steps) == 1 and steps[0][1:] == (0, len(places))
    assert landed(lake, "") == []
