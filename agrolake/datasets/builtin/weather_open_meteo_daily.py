"""Open-Meteo historical weather (archive API), daily: one response per location.

The weather flow lands each response as Open-Meteo sent it, with the
``location_id`` it was asked for added at the top (the API only echoes the
coordinates of its grid cell, a few kilometres from the ones asked for); read one
row per day (``{"daily": {"time": […], …}, "daily_units": {…}}``). Values are
converted from the units the response names: °F, inch, km/h, mph, knots and
seconds of sunshine are all accepted; an unknown unit is a row error (``unit``).
"""

from __future__ import annotations

import polars as pl

from agrolake.datasets.builtin import weather_table as weather
from agrolake.datasets.cleaning import field_errors, finish, raw_col, typed
from agrolake.datasets.model import CleanOptions, Dataset, Files, Table
from agrolake.transforms.row_errors import error_if

UNITS = "daily_units"

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

# trusted column -> (Open-Meteo daily variable, unit kind or None when no conversion)
VARIABLES: dict[str, tuple[str, str | None]] = {
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
#: The daily variables the weather flow asks for, in this order.
OPEN_METEO_DAILY: tuple[str, ...] = tuple(v for v, _ in VARIABLES.values())

FIELDS = weather.with_sources(
    {
        weather.LOCATION_ID: (weather.LOCATION_ID, "sigpac_municipality"),
        "date": "time",
        **{name: variable for name, (variable, _) in VARIABLES.items()},
        "elevation_m": "elevation",
        "latitude": "latitude",
        "longitude": "longitude",
    },
    latitude={"optional": False},
    longitude={"optional": False},
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


def clean_open_meteo_daily(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
    """An Open-Meteo archive response, one row per day (all text) → weather.daily rows."""
    fields = table.fields
    lf = typed(raw, fields, [UNITS], table.null_values)
    conversions = [
        _converted(name, variable, kind)
        for name, (variable, kind) in VARIABLES.items()
        if kind is not None
    ]
    lf = lf.with_columns(value for value, _ in conversions)
    lf = weather.with_year(lf).with_columns(
        pl.when(pl.col("precipitation_mm").is_not_null()).then(False).alias("precipitation_trace")
    )
    lf = weather.with_nulls(lf, fields, ("year", "precipitation_trace"))
    errors = [*(e for f in fields for e in field_errors(f)), *(e for _, e in conversions)]
    return finish(lf, fields, errors)


# Facts of the answer itself, not of the weather.
IGNORED = ("generationtime_ms", "utc_offset_seconds", "timezone", "timezone_abbreviation")

# Facts of the answer itself, not of the weather.
IGNORED = ("generationtime_ms", "utc_offset_seconds", "timezone", "timezone_abbreviation")

DATASET = Dataset(
    id="weather.open_meteo_daily",
    provider="Open-Meteo",
    description="Open-Meteo archive response: daily variables per day, location_id added.",
    files=Files(formats=("json",), name_pattern=r"open.?meteo"),
    tables=(
        weather.table(
            FIELDS, clean_open_meteo_daily, required_columns=(UNITS,), ignored_columns=IGNORED
        ),
    ),
)
