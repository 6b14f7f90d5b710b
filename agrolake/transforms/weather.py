"""Raw → trusted cleaning of daily weather: Open-Meteo archive responses and AEMET climatology.

Both sources become rows of one table, ``weather.daily``: one row per location
(a municipality, ``<province>-<municipality>`` as in enclosure ids) and day,
in the same units whatever the source: °C, mm, m/s, degrees, hours, hPa, %,
MJ/m². A column a source does not measure is null on its rows (AEMET has no
evapotranspiration, Open-Meteo no pressure extremes or times of day).

* **Open-Meteo** responses (``{"daily": {"time": […], …}, "daily_units": {…}}``,
  read one row per day) carry ``location_id`` (the weather flow adds it). Values
  are converted from the units the response names: °F, inch, km/h, mph, knots
  and seconds of sunshine are all accepted; an unknown unit is a row error.
* **AEMET** OpenData daily values are text with decimal commas ("10,2");
  ``prec`` "Ip" (inappreciable, under 0.1 mm) is 0.0 mm with
  ``precipitation_trace`` true; "Acum" (rain reported on a later day), the
  times "Varias" (the extreme happened several times) and the wind directions
  88 and 99 (calm, variable) are documented non-values: null, not errors. A
  station maps to its locations through the locations table (``options.stations``);
  a station that stands for several municipalities gives a row for each, and one
  no location claims is quarantined (check ``lookup:locations``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import polars as pl

from agrolake.transforms.common import (
    DEFAULT_OPTIONS,
    ERRORS,
    CleanOptions,
    Field,
    Parser,
    error_if,
    field_errors,
    finish,
    parse_float,
    parse_int,
    raw_col,
    schema_for,
    text_col,
    typed,
)

S, F64, I32, BOOL, DATE = pl.String(), pl.Float64(), pl.Int32(), pl.Boolean(), pl.Date()

LOCATION_ID = "location_id"
LOCATION_PATTERN = r"^[0-9]+-[0-9]+$"
UNITS = "daily_units"

# The trusted columns, in order, with their plausible ranges; sources fill them in below.
WEATHER_FIELDS: tuple[Field, ...] = (
    Field(LOCATION_ID, S, required=True),
    Field("date", DATE, required=True),
    Field("year", I32, required=True),
    Field("temperature_mean_c", F64, low=-60, high=60),
    Field("temperature_min_c", F64, low=-60, high=60),
    Field("temperature_max_c", F64, low=-60, high=60),
    Field("precipitation_mm", F64, low=0, high=2000),
    Field("precipitation_trace", BOOL),
    Field("relative_humidity_mean_pct", F64, low=0, high=100),
    Field("relative_humidity_min_pct", F64, low=0, high=100),
    Field("relative_humidity_max_pct", F64, low=0, high=100),
    Field("wind_speed_mean_ms", F64, low=0, high=150),
    Field("wind_speed_max_ms", F64, low=0, high=150),
    Field("wind_gust_max_ms", F64, low=0, high=150),
    Field("wind_direction_dominant_deg", F64, low=0, high=360),
    Field("wind_gust_direction_deg", F64, low=0, high=360),
    Field("sunshine_hours", F64, low=0, high=24),
    Field("shortwave_radiation_mj_m2", F64, low=0, high=60),
    Field("et0_mm", F64, low=0, high=50),
    Field("pressure_max_hpa", F64, low=500, high=1100),
    Field("pressure_min_hpa", F64, low=500, high=1100),
    Field("temperature_min_time", S),
    Field("temperature_max_time", S),
    Field("wind_gust_time", S),
    Field("station_id", S),
    Field("station_name", S),
    Field("elevation_m", F64, low=-500, high=9000),
    Field("latitude", F64, low=-90, high=90),
    Field("longitude", F64, low=-180, high=180),
)

WEATHER_DAILY_SCHEMA = schema_for("weather.daily", WEATHER_FIELDS)
WEATHER_DAILY_KEY: tuple[str, ...] = (LOCATION_ID, "date")
WEATHER_DAILY_PARTITION: tuple[str, ...] = ("year",)

# Unit conversions to the trusted unit: unit as Open-Meteo names it -> (scale, offset).
# A variable whose unit is missing from daily_units is taken in the API's default unit.
CONVERSIONS: dict[str, tuple[str, dict[str, tuple[float, float]]]] = {
    "temperature": ("°C", {"°C": (1.0, 0.0), "°F": (5 / 9, -160 / 9)}),
    "precipitation": ("mm", {"mm": (1.0, 0.0), "inch": (25.4, 0.0)}),
    "wind": (
        "km/h",
        {
            "km/h": (1 / 3.6, 0.0),
            "m/s": (1.0, 0.0),
            "mp/h": (0.44704, 0.0),
            "mph": (0.44704, 0.0),
            "kn": (0.514444, 0.0),
        },
    ),
    "duration": ("s", {"s": (1 / 3600, 0.0), "h": (1.0, 0.0)}),
}


def parse_location_id(text: pl.Expr) -> pl.Expr:
    """``"050 - 073"`` → ``"50-73"``: a municipality id in canonical form, or null."""
    compact = text.str.replace_all(r"\s*-\s*", "-")
    unpadded = compact.str.replace_all(r"(^|-)0+([0-9])", "${1}${2}")
    return pl.when(compact.str.contains(LOCATION_PATTERN)).then(unpadded)


def parse_time(text: pl.Expr) -> pl.Expr:
    """A time of day as "HH:MM" ("6:40" → "06:40"; an hour alone counts), or null."""
    parts = text.str.extract_groups(r"^(?P<h>[0-9]{1,2})(?::(?P<m>[0-9]{2}))?$")
    hour = parts.struct.field("h").cast(pl.Int32, strict=False)
    minute = parts.struct.field("m").fill_null("00").cast(pl.Int32, strict=False)
    valid = hour.is_between(0, 24) & minute.is_between(0, 59) & ~((hour == 24) & (minute > 0))
    shown = pl.format("{}:{}", hour.cast(S).str.zfill(2), minute.cast(S).str.zfill(2))
    return pl.when(valid).then(shown)


def parse_aemet_precipitation(text: pl.Expr) -> pl.Expr:
    """AEMET precipitation: "Ip" (under 0.1 mm) is 0.0, else a number with a decimal comma."""
    return pl.when(text.str.to_uppercase() == "IP").then(pl.lit(0.0)).otherwise(parse_float(text))


def parse_tens_of_degrees(text: pl.Expr) -> pl.Expr:
    """AEMET wind direction in tens of degrees ("29" → 290.0)."""
    return parse_int(text).cast(F64) * 10


def parse_station(text: pl.Expr) -> pl.Expr:
    """An AEMET ``indicativo`` as the locations table compares it: upper case."""
    return text.str.to_uppercase()


def _fields(sources: Mapping[str, tuple[str, Parser | None, str | None]]) -> tuple[Field, ...]:
    """The weather fields with a source's columns, parsers and check kinds filled in."""
    unknown = set(sources) - {f.name for f in WEATHER_FIELDS}
    assert not unknown, f"not weather fields: {unknown}"
    return tuple(
        replace(f, source=sources[f.name][0], parser=sources[f.name][1], kind=sources[f.name][2])
        if f.name in sources
        else f
        for f in WEATHER_FIELDS
    )


def _with_nulls(lf: pl.LazyFrame, fields: Sequence[Field], derived: Sequence[str]) -> pl.LazyFrame:
    """Null columns for the fields a source does not have (so every source has every column)."""
    names = set(lf.collect_schema().names())
    missing = [f for f in fields if f.source is None and f.name not in derived]
    return lf.with_columns(
        pl.lit(None, f.dtype).alias(f.name) for f in missing if f.name not in names
    )


def _with_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    return lf.with_columns(pl.col("date").dt.year().cast(I32).alias("year"))


# --- Open-Meteo ------------------------------------------------------------------------

# trusted column -> (Open-Meteo daily variable, unit kind or None when no conversion)
OPEN_METEO_VARIABLES: dict[str, tuple[str, str | None]] = {
    "temperature_mean_c": ("temperature_2m_mean", "temperature"),
    "temperature_min_c": ("temperature_2m_min", "temperature"),
    "temperature_max_c": ("temperature_2m_max", "temperature"),
    "precipitation_mm": ("precipitation_sum", "precipitation"),
    "relative_humidity_mean_pct": ("relative_humidity_2m_mean", None),
    "relative_humidity_min_pct": ("relative_humidity_2m_min", None),
    "relative_humidity_max_pct": ("relative_humidity_2m_max", None),
    "wind_speed_mean_ms": ("wind_speed_10m_mean", "wind"),
    "wind_speed_max_ms": ("wind_speed_10m_max", "wind"),
    "wind_gust_max_ms": ("wind_gusts_10m_max", "wind"),
    "wind_direction_dominant_deg": ("wind_direction_10m_dominant", None),
    "sunshine_hours": ("sunshine_duration", "duration"),
    "shortwave_radiation_mj_m2": ("shortwave_radiation_sum", None),
    "et0_mm": ("et0_fao_evapotranspiration", "precipitation"),
}
# The daily variables the weather flow asks for, in this order.
OPEN_METEO_DAILY: tuple[str, ...] = tuple(v for v, _ in OPEN_METEO_VARIABLES.values())

OPEN_METEO_FIELDS = _fields(
    {
        LOCATION_ID: (LOCATION_ID, parse_location_id, "location_id"),
        "date": ("time", None, None),
        **{name: (variable, None, None) for name, (variable, _) in OPEN_METEO_VARIABLES.items()},
        "elevation_m": ("elevation", None, None),
        "latitude": ("latitude", None, None),
        "longitude": ("longitude", None, None),
    }
)


def _converted(name: str, variable: str, kind: str) -> tuple[pl.Expr, pl.Expr]:
    """The column in the trusted unit, and the row error when its unit is unknown."""
    default, table = CONVERSIONS[kind]
    unit = pl.coalesce(raw_col(UNITS).str.json_path_match(f"$.{variable}"), pl.lit(default))
    value = pl.col(name)
    converted: pl.Expr = value  # an unknown unit keeps the value; the error says why
    for known, (scale, offset) in table.items():
        converted = pl.when(unit == known).then(value * scale + offset).otherwise(converted)
    unknown = value.is_not_null() & ~unit.is_in(list(table))
    return converted.alias(name), error_if(unknown, name, "unit", unit)


def clean_open_meteo_daily(
    raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS
) -> pl.LazyFrame:
    """An Open-Meteo archive response, one row per day (all text) → weather.daily rows."""
    fields = OPEN_METEO_FIELDS
    lf = typed(raw, fields, [UNITS])
    conversions = [
        _converted(name, variable, kind)
        for name, (variable, kind) in OPEN_METEO_VARIABLES.items()
        if kind is not None
    ]
    lf = lf.with_columns(value for value, _ in conversions)
    lf = _with_year(lf).with_columns(
        pl.when(pl.col("precipitation_mm").is_not_null()).then(False).alias("precipitation_trace")
    )
    lf = _with_nulls(lf, fields, ("year", "precipitation_trace"))
    errors = [*(e for f in fields for e in field_errors(f)), *(e for _, e in conversions)]
    return finish(lf, fields, errors)


# --- AEMET -----------------------------------------------------------------------------

AEMET_FIELDS = _fields(
    {
        "date": ("fecha", None, None),
        "temperature_mean_c": ("tmed", None, None),
        "temperature_min_c": ("tmin", None, None),
        "temperature_max_c": ("tmax", None, None),
        "precipitation_mm": ("prec", parse_aemet_precipitation, None),
        "relative_humidity_mean_pct": ("hrMedia", None, None),
        "relative_humidity_min_pct": ("hrMin", None, None),
        "relative_humidity_max_pct": ("hrMax", None, None),
        "wind_speed_mean_ms": ("velmedia", None, None),
        "wind_gust_max_ms": ("racha", None, None),
        "wind_gust_direction_deg": ("dir", parse_tens_of_degrees, None),
        "sunshine_hours": ("sol", None, None),
        "pressure_max_hpa": ("presMax", None, None),
        "pressure_min_hpa": ("presMin", None, None),
        "temperature_min_time": ("horatmin", parse_time, "time"),
        "temperature_max_time": ("horatmax", parse_time, "time"),
        "wind_gust_time": ("horaracha", parse_time, "time"),
        "station_id": ("indicativo", parse_station, None),
        "station_name": ("nombre", None, None),
        "elevation_m": ("altitud", None, None),
    }
)
AEMET_FIELDS = tuple(
    replace(f, required=True) if f.name == "station_id" else f for f in AEMET_FIELDS
)

# Documented AEMET values that mean "no value here" rather than a broken one, per field.
AEMET_NON_VALUES: dict[str, tuple[str, ...]] = {
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
    for name, words in AEMET_NON_VALUES.items():
        text = text_col(sources[name])
        absent = text.str.to_uppercase().is_in(list(words))
        columns.append(pl.when(absent).then(None).otherwise(text).alias(text.meta.output_name()))
        columns.append(pl.when(absent).then(None).otherwise(pl.col(name)).alias(name))
    return lf.with_columns(columns)


def _station_locations(options: CleanOptions) -> pl.LazyFrame:
    """Each station with the sorted list of locations it stands for."""
    pairs = pl.LazyFrame(
        {_STATION: [s for s, _ in options.stations], LOCATION_ID: [x for _, x in options.stations]},
        schema={_STATION: S, LOCATION_ID: S},
    )
    return pairs.group_by(_STATION).agg(pl.col(LOCATION_ID).sort().alias(_LOCATIONS))


def clean_aemet_daily(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """AEMET OpenData daily climatology (all text) → weather.daily rows, one per location.

    A valid row of a station that stands for several locations is repeated for
    each; a row with errors stays one row (with the first location, if any), so
    the quarantine shows each raw row once.
    """
    fields = AEMET_FIELDS
    lf = typed(raw, fields)
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
    lf = _with_nulls(_with_year(lf), fields, (LOCATION_ID, "year", "precipitation_trace"))
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
