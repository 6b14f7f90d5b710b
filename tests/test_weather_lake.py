"""Weather and NDVI files through every zone, on both backends, up to the digital twin."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from agrolake.datasets.builtin.weather_open_meteo_daily import OPEN_METEO_DAILY
from agrolake.datasets.locations import shipped_locations
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.pipeline import rebuild, run_all
from agrolake.samples import (
    STATIONS,
    aemet_records,
    write_aemet_daily,
    write_open_meteo_daily,
)

WEATHER = TableRef("trusted", "weather.daily")
NDVI = TableRef("trusted", "remote_sensing.ndvi")
TWIN = TableRef("refined", "digital_twin.enclosures")
SEASON_DAYS = (date(2024, 10, 31) - date(2024, 3, 1)).days + 1


def frame(lake: Lake, ref: TableRef) -> pl.DataFrame:
    data = lake.tables.read(ref)
    assert data is not None, f"{ref} exists"
    result = pl.from_arrow(data)
    assert isinstance(result, pl.DataFrame)
    return result


def test_an_aemet_file_reaches_trusted_once_per_location_of_each_station(
    lake: Lake, tmp_path: Path
) -> None:
    path = write_aemet_daily(tmp_path / "aemet.json", date(2024, 3, 1), date(2024, 3, 10))
    assert "BASE AÉREA".encode("iso8859_15") in path.read_bytes(), "ISO-8859-15, as AEMET sends"
    lake.store.put("landing", "descargas/aemet_marzo.json", path.read_bytes())

    summary = run_all(lake)

    assert summary.landing.counts == {"raw": 1}
    assert summary.landing.outcomes[0].dataset == "weather.aemet_daily"
    rows = frame(lake, WEATHER)
    per_station: dict[str, int] = {}
    for place in shipped_locations():
        if place.aemet_station:
            per_station[place.aemet_station] = per_station.get(place.aemet_station, 0) + 1
    assert rows.height == 10 * sum(per_station.values())
    assert rows.select("location_id", "date").is_duplicated().sum() == 0
    assert set(rows["station_name"]) == {s.nombre for s in STATIONS.values()}
    assert rows["_source"].unique().to_list() == ["AEMET"]
    records = aemet_records(
        list(STATIONS.values()), date(2024, 3, 1), date(2024, 3, 10), seed=7 + 2024
    )
    traces = {(r["indicativo"], r["fecha"]) for r in records if r.get("prec") == "Ip"}
    marked = rows.filter(pl.col("precipitation_trace"))
    assert {(s, d.isoformat()) for s, d in marked.select("station_id", "date").rows()} == traces
    assert summary.trusted.writes[0].quarantined == 0


def test_both_sources_keep_one_row_per_location_and_day_the_later_winning(
    lake: Lake, tmp_path: Path
) -> None:
    aemet = write_aemet_daily(
        tmp_path / "aemet.json", date(2024, 3, 1), date(2024, 3, 10), stations=["9434"]
    )
    lake.store.put("landing", "aemet.json", aemet.read_bytes())
    run_all(lake)
    [carinena] = [p for p in shipped_locations() if p.location_id == "50-73"]
    answer = write_open_meteo_daily(
        tmp_path / "om.json", carinena, date(2024, 3, 5), date(2024, 3, 15), list(OPEN_METEO_DAILY)
    )
    assert json.loads(answer.read_text())["location_id"] == "50-73"
    lake.store.put("landing", "api/open-meteo/om.json", answer.read_bytes())
    run_all(lake)

    rows = frame(lake, WEATHER).filter(location_id="50-73").sort("date")
    assert rows.height == 15
    sources = dict(zip(rows["date"], rows["_source"], strict=True))
    assert {sources[date(2024, 3, d)] for d in range(1, 5)} == {"AEMET"}
    assert {sources[date(2024, 3, d)] for d in range(5, 16)} == {"Open-Meteo"}
    assert rows.filter(_source="Open-Meteo")["et0_mm"].null_count() == 0
    assert rows.filter(_source="AEMET")["station_id"].unique().to_list() == ["9434"]

    before = frame(lake, WEATHER).sort("location_id", "date")
    writes = rebuild(lake, ["trusted.weather_daily"])
    assert writes[0].table == "trusted.weather_daily"
    after = frame(lake, WEATHER).sort("location_id", "date")
    assert after.drop("_row").equals(before.drop("_row")), "a rebuild replays both datasets"


def test_the_demo_twin_shows_the_season_weather_and_ndvi_of_every_enclosure(
    demo_lake: Lake,
) -> None:
    twin = frame(demo_lake, TWIN)
    weather = frame(demo_lake, WEATHER)
    ndvi = frame(demo_lake, NDVI)
    assert twin.height == 40
    assert (twin["season_weather_days"] == SEASON_DAYS).all(), "every season day is covered"
    assert twin["season_frost_days"].null_count() == 0
    assert (twin["season_ndvi_observations"] > 0).all()
    assert set(ndvi["_source"]) == {"NDVI file", "teledetection"}
    stationless = {p.location_id for p in shipped_locations() if not p.aemet_station}
    for item in twin.iter_rows(named=True):
        start, end = date(item["year"], 3, 1), date(item["year"], 10, 31)
        days = weather.filter(
            pl.col("location_id") == item["location_id"], pl.col("date").is_between(start, end)
        )
        assert item["season_precipitation_mm"] == pytest.approx(days["precipitation_mm"].sum())
        assert item["season_temperature_min_c"] == days["temperature_min_c"].min()
        assert item["season_frost_days"] == (days["temperature_min_c"] < 0).sum()
        expected = "Open-Meteo" if item["location_id"] in stationless else "AEMET"
        assert item["season_weather_sources"] == [expected]
        seen = ndvi.filter(
            pl.col("enclosure_id") == item["enclosure_id"], pl.col("date").is_between(start, end)
        )
        assert item["season_ndvi_observations"] == seen.height
        assert item["season_ndvi_max"] == seen["ndvi"].max()
