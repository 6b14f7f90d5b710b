"""AEMET OpenData daily climatological values, as its API serves them (JSON, ISO-8859-15).

One record per station and day; numbers are text with decimal commas ("10,2");
``prec`` "Ip" (inappreciable, under 0.1 mm) is 0.0 mm with
``precipitation_trace`` true; "Acum" (rain reported on a later day), the times
"Varias" (the extreme happened several times) and the wind directions 88 and 99
(calm, variable) are documented non-values: null, not errors. Fields a station
does not measure are simply absent. A station maps to its locations through the
locations table (``options.stations``); a station that stands for several
municipalities gives a row for each, and one no location claims is quarantined
(check ``lookup:locations``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from agrolake.datasets.builtin import weather_table as weather
from agrolake.datasets.cleaning import field_errors, finish, raw_col, text_col, typed
from agrolake.datasets.model import CleanOptions, Dataset, Field, Files, Table
from agrolake.transforms.parsers import parse_float, parse_int
from agrolake.transforms.row_errors import ERRORS, error_if

LOCATION_ID = weather.LOCATION_ID


def parse_aemet_precipitation(text: pl.Expr) -> pl.Expr:
    """AEMET precipitation: "Ip" (under 0.1 mm) is 0.0, else a number with a decimal comma."""
    return pl.when(text.str.to_uppercase() == "IP").then(pl.lit(0.0)).otherwise(parse_float(text))


def parse_tens_of_degrees(text: pl.Expr) -> pl.Expr:
    """AEMET wind direction in tens of degrees ("29" → 290.0)."""
    return parse_int(text).cast(pl.Float64) * 10


FIELDS = weather.with_sources(
    {
        "date": "fecha",
        "temperature_mean_c": "tmed",
        "temperature_min_c": "tmin",
        "temperature_max_c": "tmax",
        "precipitation_mm": ("prec", parse_aemet_precipitation),
        "relative_humidity_mean_pct": "hrMedia",
        "relative_humidity_min_pct": "hrMin",
        "relative_humidity_max_pct": "hrMax",
        "wind_speed_mean_ms": "velmedia",
        "wind_gust_max_ms": "racha",
        "wind_gust_direction_deg": ("dir", parse_tens_of_degrees),
        "sunshine_hours": "sol",
        "pressure_max_hpa": "presMax",
        "pressure_min_hpa": "presMin",
        "temperature_min_time": ("horatmin", "time_of_day"),
        "temperature_max_time": ("horatmax", "time_of_day"),
        "wind_gust_time": ("horaracha", "time_of_day"),
        "station_id": ("indicativo", "upper"),
        "station_name": "nombre",
        "elevation_m": "altitud",
    },
    station_id={"required": True},
    station_name={"optional": False},
)

# Documented AEMET values that mean "no value here" rather than a broken one, per field.
NON_VALUES: dict[str, tuple[str, ...]] = {
    "precipitation_mm": ("ACUM",),
    "wind_gust_direction_deg": ("88", "99"),
    "temperature_min_time": ("VARIAS",),
    "temperature_max_time": ("VARIAS",),
    "wind_gust_time": ("VARIAS",),
}
_STATION, _LOCATIONS = "__station", "__locations"


def _without_non_values(lf: pl.LazyFrame, fields: Sequence[Field]) -> pl.LazyFrame:
    """Non-values null, in the value and in the cleaned text (so no type error is raised)."""
    sources = {f.name: f.source for f in fields if f.source is not None}
    columns = []
    for name, words in NON_VALUES.items():
        text = text_col(sources[name])
        absent = text.str.to_uppercase().is_in(list(words))
        columns.append(pl.when(absent).then(None).otherwise(text).alias(text.meta.output_name()))
        columns.append(pl.when(absent).then(None).otherwise(pl.col(name)).alias(name))
    return lf.with_columns(columns)


def _station_locations(options: CleanOptions) -> pl.LazyFrame:
    """Each station with the sorted list of locations it stands for."""
    pairs = pl.LazyFrame(
        {_STATION: [s for s, _ in options.stations], LOCATION_ID: [x for _, x in options.stations]},
        schema={_STATION: pl.String, LOCATION_ID: pl.String},
    )
    return pairs.group_by(_STATION).agg(pl.col(LOCATION_ID).sort().alias(_LOCATIONS))


def clean_aemet_daily(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
    """AEMET OpenData daily climatology (all text) → weather.daily rows, one per location.

    A valid row of a station that stands for several locations is repeated for
    each; a row with errors stays one row (with the first location, if any), so
    the quarantine shows each raw row once.
    """
    fields = table.fields
    lf = typed(raw, fields, null_values=table.null_values)
    trace = text_col("prec").str.to_uppercase() == "IP"
    lf = lf.with_columns(
        pl.when(trace)
        .then(True)
        .when(pl.col("precipitation_mm").is_not_null())
        .then(False)
        .alias("precipitation_trace")
    )
    lf = _without_non_values(lf, fields)
    stations = _station_locations(options)
    lf = lf.join(stations, left_on="station_id", right_on=_STATION, how="left")
    lf = lf.with_columns(pl.col(_LOCATIONS).list.first().alias(LOCATION_ID))
    derived = (LOCATION_ID, "year", "precipitation_trace")
    lf = weather.with_nulls(weather.with_year(lf), fields, derived)
    unmapped = pl.col("station_id").is_not_null() & pl.col(LOCATION_ID).is_null()
    errors = [
        *(e for f in fields for e in field_errors(f)),
        error_if(unmapped, LOCATION_ID, "lookup:locations", raw_col("indicativo")),
    ]
    cleaned = finish(lf, fields, errors)
    columns = cleaned.collect_schema().names()
    fanned = cleaned.join(stations, left_on="station_id", right_on=_STATION, how="left")
    each = (pl.col(ERRORS).list.len() == 0) & pl.col(_LOCATIONS).is_not_null()
    every = pl.when(each).then(pl.col(_LOCATIONS)).otherwise(pl.concat_list(LOCATION_ID))
    return fanned.with_columns(every.alias(LOCATION_ID)).explode(LOCATION_ID).select(columns)


DATASET = Dataset(
    id="weather.aemet_daily",
    provider="AEMET",
    description="AEMET daily climatology: one record per station (indicativo) and day (fecha).",
    files=Files(formats=("json", "csv"), name_pattern=r"aemet|climatolog"),
    tables=(
        weather.table(
            FIELDS,
            clean_aemet_daily,
            required_columns=("provincia",),
            ignored_columns=("horaPresMax", "horaPresMin", "horaHrMax", "horaHrMin"),
        ),
    ),
)
