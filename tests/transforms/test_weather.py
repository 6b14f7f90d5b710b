"""Raw → trusted cleaning of daily weather (AEMET, Open-Meteo) and of NDVI."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
import pytest

from agrolake.datasets.model import CleanOptions
from agrolake.transforms.row_errors import quarantined_rows, valid_rows
from tests.builtin import (
    NDVI_SCHEMA,
    WEATHER_DAILY_SCHEMA,
    clean_aemet_daily,
    clean_ndvi_files,
    clean_ndvi_service,
    clean_open_meteo_daily,
)

STATIONS = CleanOptions(stations=(("9434", "50-18"), ("9434", "50-73"), ("8368U", "44-8")))


def aemet(*records: dict[str, str]) -> pl.LazyFrame:
    """Raw AEMET rows as the JSON reader gives them: text, absent fields absent."""
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    data = {c: [r.get(c) for r in records] for c in columns}
    return pl.LazyFrame(data, schema=dict.fromkeys(columns, pl.String)).with_row_index("_row")


def day(**values: str) -> dict[str, str]:
    base = {
        "fecha": "2024-03-02",
        "indicativo": "9434",
        "nombre": "ZARAGOZA, AEROPUERTO",
        "provincia": "ZARAGOZA",
        "altitud": "249",
    }
    return {**base, **values}


def clean(raw: pl.LazyFrame, options: CleanOptions = STATIONS) -> pl.DataFrame:
    return clean_aemet_daily(raw, options).collect()


def problems(cleaned: pl.DataFrame) -> list[tuple[int, str, str, str]]:
    q = quarantined_rows(cleaned.lazy(), "trusted.weather_daily").collect()
    return sorted(q.select("row_index", "column", "check", "value").rows())


def only(frame: pl.DataFrame, location: str = "50-73") -> dict[str, Any]:
    [row] = frame.filter(pl.col("location_id") == location).to_dicts()
    return row


# --- AEMET --------------------------------------------------------------------------


def test_decimal_commas_and_units_as_aemet_sends_them() -> None:
    raw = aemet(
        day(
            tmed="10,2", tmin="-3,4", tmax="17,9", prec="12,6", velmedia="5,6", racha="16,4",
            dir="29", sol="8,4", presMax="993,1", presMin="988,3", hrMedia="71",
            horatmin="6:40", horatmax="15:10", horaracha="13:50",
        )
    )  # fmt: skip
    row = only(clean(raw))
    assert (row["temperature_mean_c"], row["temperature_min_c"], row["temperature_max_c"]) == (
        10.2,
        -3.4,
        17.9,
    )
    assert row["precipitation_mm"] == 12.6 and row["precipitation_trace"] is False
    assert (row["wind_speed_mean_ms"], row["wind_gust_max_ms"]) == (5.6, 16.4)
    assert row["wind_gust_direction_deg"] == 290.0, "AEMET gives tens of degrees"
    assert (row["sunshine_hours"], row["pressure_max_hpa"], row["pressure_min_hpa"]) == (
        8.4,
        993.1,
        988.3,
    )
    assert row["relative_humidity_mean_pct"] == 71.0
    assert (row["temperature_min_time"], row["temperature_max_time"], row["wind_gust_time"]) == (
        "06:40",
        "15:10",
        "13:50",
    )
    assert (row["station_id"], row["station_name"], row["elevation_m"]) == (
        "9434",
        "ZARAGOZA, AEROPUERTO",
        249.0,
    )
    assert row["date"] == date(2024, 3, 2) and row["year"] == 2024
    assert row["wind_speed_max_ms"] is None and row["et0_mm"] is None, "AEMET has no such values"


def test_ip_is_a_trace_of_rain_and_acum_varias_88_99_are_no_values_not_errors() -> None:
    raw = aemet(
        day(fecha="2024-03-01", prec="Ip", horatmin="Varias", dir="99"),
        day(fecha="2024-03-02", prec="Acum", horaracha="varias", dir="88"),
        day(fecha="2024-03-03", prec="0,0", horatmax="Varias"),
    )
    cleaned = clean(raw)
    assert problems(cleaned) == []
    rows = cleaned.filter(location_id="50-73").sort("date")
    assert rows["precipitation_mm"].to_list() == [0.0, None, 0.0]
    assert rows["precipitation_trace"].to_list() == [True, None, False]
    assert rows["temperature_min_time"].to_list() == [None, None, None]
    assert rows["wind_gust_time"].to_list() == [None, None, None]
    assert rows["wind_gust_direction_deg"].to_list() == [None, None, None]


def test_missing_fields_are_null_and_a_record_without_them_is_still_a_day() -> None:
    raw = aemet(day(fecha="2024-03-01", tmin="1,0"), day(fecha="2024-03-02"))
    cleaned = clean(raw)
    assert problems(cleaned) == []
    rows = cleaned.filter(location_id="50-73").sort("date")
    assert rows["temperature_min_c"].to_list() == [1.0, None]
    assert rows["sunshine_hours"].to_list() == [None, None]
    assert rows.height == 2


def test_a_station_stands_for_each_of_its_locations() -> None:
    cleaned = clean(aemet(day(tmin="2,0"), day(indicativo="8368u", tmin="-5,0")))
    assert sorted(cleaned.select("location_id", "station_id", "temperature_min_c").rows()) == [
        ("44-8", "8368U", -5.0),
        ("50-18", "9434", 2.0),
        ("50-73", "9434", 2.0),
    ]
    assert cleaned["_row"].to_list().count(0) == 2, "both rows point at the same raw row"


def test_bad_values_are_quarantined_once_per_raw_row() -> None:
    raw = aemet(
        day(fecha="2024-03-01", tmed="abc"),
        day(fecha="2024-03-02", tmax="75,0"),
        day(fecha="2024-03-03", horatmin="25:00"),
        day(fecha="31/02/2024"),
        day(fecha="2024-03-05", indicativo="0000X"),
        day(fecha="2024-03-06", indicativo=""),
        day(fecha="2024-03-07", prec="-1,0"),
    )
    cleaned = clean(raw)
    assert problems(cleaned) == [
        (0, "temperature_mean_c", "type:float64", "abc"),
        (1, "temperature_max_c", "range:-60..60", "75,0"),
        (2, "temperature_min_time", "type:time", "25:00"),
        (3, "date", "type:date", "31/02/2024"),
        (4, "location_id", "lookup:locations", "0000X"),
        (5, "station_id", "not_null", ""),
        (6, "precipitation_mm", "range:0..2000", "-1,0"),
    ]
    assert valid_rows(cleaned.lazy()).collect().height == 0


def test_without_a_locations_table_every_station_is_unmapped() -> None:
    cleaned = clean(aemet(day()), CleanOptions())
    assert problems(cleaned) == [(0, "location_id", "lookup:locations", "9434")]


# --- Open-Meteo ---------------------------------------------------------------------


def open_meteo(units: dict[str, str], daily: dict[str, list[Any]], **top: Any) -> pl.LazyFrame:
    """Raw Open-Meteo rows as the JSON reader gives them (one per day, all text)."""
    shared = {
        "location_id": "50-73",
        "latitude": "41.35",
        "longitude": "-1.2",
        "elevation": "591.0",
        "daily_units": json.dumps({"time": "iso8601", **units}),
        **top,
    }
    height = len(daily["time"])
    data: dict[str, list[Any]] = {k: [v] * height for k, v in shared.items()}
    data |= {k: [None if v is None else str(v) for v in vs] for k, vs in daily.items()}
    return pl.LazyFrame(data, schema=dict.fromkeys(data, pl.String)).with_row_index("_row")


def test_open_meteo_values_are_converted_to_the_trusted_units() -> None:
    raw = open_meteo(
        {
            "temperature_2m_max": "°F", "temperature_2m_min": "°C",
            "precipitation_sum": "inch", "wind_speed_10m_max": "km/h",
            "wind_gusts_10m_max": "kn", "wind_speed_10m_mean": "mp/h",
            "sunshine_duration": "s", "et0_fao_evapotranspiration": "mm",
        },
        {
            "time": ["2024-03-01"], "temperature_2m_max": [50.0], "temperature_2m_min": [-2.5],
            "precipitation_sum": [0.5], "wind_speed_10m_max": [36.0],
            "wind_gusts_10m_max": [10.0], "wind_speed_10m_mean": [10.0],
            "sunshine_duration": [36000.0], "et0_fao_evapotranspiration": [2.1],
        },
    )  # fmt: skip
    cleaned = clean_open_meteo_daily(raw).collect()
    assert problems(cleaned) == []
    [row] = cleaned.to_dicts()
    assert row["temperature_max_c"] == pytest.approx(10.0)
    assert row["temperature_min_c"] == -2.5
    assert row["precipitation_mm"] == pytest.approx(12.7)
    assert row["wind_speed_max_ms"] == pytest.approx(10.0)
    assert row["wind_gust_max_ms"] == pytest.approx(5.14444)
    assert row["wind_speed_mean_ms"] == pytest.approx(4.4704)
    assert row["sunshine_hours"] == pytest.approx(10.0)
    assert row["et0_mm"] == 2.1
    assert (row["latitude"], row["longitude"], row["elevation_m"]) == (41.35, -1.2, 591.0)
    assert row["precipitation_trace"] is False and row["station_id"] is None


def test_open_meteo_defaults_to_its_documented_units_when_daily_units_is_silent() -> None:
    raw = open_meteo({}, {"time": ["2024-03-01"], "wind_speed_10m_max": [36.0]})
    [row] = clean_open_meteo_daily(raw).collect().to_dicts()
    assert row["wind_speed_max_ms"] == pytest.approx(10.0), "km/h is the API's default"


def test_an_unknown_unit_and_a_bad_location_id_are_row_errors() -> None:
    raw = open_meteo(
        {"wind_gusts_10m_max": "furlong/fortnight"},
        {"time": ["2024-03-01"], "wind_gusts_10m_max": [3.0]},
        location_id="Cariñena",
    )
    assert problems(clean_open_meteo_daily(raw).collect()) == [
        (0, "location_id", "type:location_id", "Cariñena"),
        (0, "wind_gust_max_ms", "unit", "furlong/fortnight"),
    ]


def test_location_ids_are_canonical_and_days_without_values_are_kept() -> None:
    raw = open_meteo(
        {"temperature_2m_max": "°C"},
        {"time": ["2024-03-01", "2024-03-02"], "temperature_2m_max": [12.5, None]},
        location_id=" 050 - 073 ",
    )
    cleaned = clean_open_meteo_daily(raw).collect()
    assert problems(cleaned) == []
    assert cleaned["location_id"].to_list() == ["50-73", "50-73"]
    assert cleaned["temperature_max_c"].to_list() == [12.5, None]
    assert cleaned["precipitation_trace"].to_list() == [None, None]


def test_both_sources_give_the_same_trusted_schema() -> None:
    from_aemet = clean_aemet_daily(aemet(day(tmin="1,0")), STATIONS)
    from_open_meteo = clean_open_meteo_daily(
        open_meteo({}, {"time": ["2024-03-01"], "temperature_2m_min": [1.0]})
    )
    assert from_aemet.collect_schema() == from_open_meteo.collect_schema()
    for cleaned in (from_aemet, from_open_meteo):
        WEATHER_DAILY_SCHEMA.validate(valid_rows(cleaned).drop("_row").collect())


# --- NDVI ---------------------------------------------------------------------------


def text_frame(data: dict[str, list[str | None]]) -> pl.LazyFrame:
    return pl.LazyFrame(data, schema=dict.fromkeys(data, pl.String)).with_row_index("_row")


def test_ndvi_files_read_spanish_dates_decimal_commas_and_padded_ids() -> None:
    raw = text_frame(
        {
            "date": ["05/04/2024", "2024-04-10", "15/04/2024", "20/04/2024", "25/04/2024"],
            "enclosure_id": ["050 - 73-0-0-12-134-01", "50-73-0-0-12-134-1", "50-73", None,
                             "50-73-0-0-12-134-1"],
            "ndvi": ["0,61", "0.64", "0,5", "0,5", "6100"],
        }
    )  # fmt: skip
    cleaned = clean_ndvi_files(raw).collect()
    valid = valid_rows(cleaned.lazy()).collect()
    assert valid.select("enclosure_id", "date", "year", "ndvi").rows() == [
        ("50-73-0-0-12-134-1", date(2024, 4, 5), 2024, 0.61),
        ("50-73-0-0-12-134-1", date(2024, 4, 10), 2024, 0.64),
    ]
    q = quarantined_rows(cleaned.lazy(), "trusted.remote_sensing_ndvi").collect()
    assert sorted(q.select("row_index", "column", "check").rows()) == [
        (2, "enclosure_id", "type:enclosure_id"),
        (3, "enclosure_id", "not_null"),
        (4, "ndvi", "range:-1..1"),
    ]
    NDVI_SCHEMA.validate(valid.drop("_row"))


def test_ndvi_service_rows_take_the_enclosure_from_id() -> None:
    raw = text_frame(
        {
            "id": ["44-8-0-0-3-9-1"] * 2,
            "operation": ["ndvi"] * 2,
            "date": ["2024-05-03", "2024-05-08"],
            "ndvi": ["0.42", "-0.05"],
        }
    )
    cleaned = clean_ndvi_service(raw).collect()
    assert cleaned.select("enclosure_id", "ndvi").rows() == [
        ("44-8-0-0-3-9-1", 0.42),
        ("44-8-0-0-3-9-1", -0.05),
    ]
    assert (
        cleaned.collect_schema()
        == clean_ndvi_files(
            text_frame({"date": [], "enclosure_id": [], "ndvi": []})
        ).collect_schema()
    )
