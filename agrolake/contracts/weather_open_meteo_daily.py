"""Open-Meteo historical weather (archive API), daily: one response per location.

The weather flow lands each response as Open-Meteo sent it, with the
``location_id`` it was asked for added at the top (the API only echoes the
coordinates of its grid cell, a few kilometres from the ones asked for).
"""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import (
    WEATHER_DAILY_KEY,
    WEATHER_DAILY_PARTITION,
    WEATHER_DAILY_SCHEMA,
    clean_open_meteo_daily,
)
from agrolake.transforms.weather import OPEN_METEO_DAILY

CONTRACT = DatasetContract(
    id="weather.open_meteo_daily",
    source="Open-Meteo",
    description="Open-Meteo archive response: daily variables per day, location_id added.",
    formats=("json",),
    tables=(
        TableContract(
            sheet=None,
            required=("location_id", "latitude", "longitude", "daily_units", "time"),
            optional=(
                *OPEN_METEO_DAILY, "generationtime_ms", "utc_offset_seconds", "timezone",
                "timezone_abbreviation", "elevation",
            ),
        ),
    ),
    name_pattern=r"open.?meteo",
    trusted=(
        TrustedTable(
            "weather.daily",
            None,
            clean_open_meteo_daily,
            WEATHER_DAILY_SCHEMA,
            key=WEATHER_DAILY_KEY,
            partition_by=WEATHER_DAILY_PARTITION,
            evolution="Other daily variables are kept as nullable text columns. "
            "Shared with weather.aemet_daily: the later ingest of a location and day wins.",
        ),
    ),
)  # fmt: skip
