"""AEMET OpenData daily climatological values, as its API serves them (JSON, ISO-8859-15).

One record per station and day; numbers are text with decimal commas, ``prec``
may be "Ip" or "Acum", times may be "Varias", and fields a station does not
measure are simply absent.
"""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import (
    WEATHER_DAILY_KEY,
    WEATHER_DAILY_PARTITION,
    WEATHER_DAILY_SCHEMA,
    clean_aemet_daily,
)

CONTRACT = DatasetContract(
    id="weather.aemet_daily",
    source="AEMET",
    description="AEMET daily climatology: one record per station (indicativo) and day (fecha).",
    formats=("json", "csv"),
    tables=(
        TableContract(
            sheet=None,
            required=("fecha", "indicativo", "nombre", "provincia"),
            optional=(
                "altitud", "tmed", "prec", "tmin", "horatmin", "tmax", "horatmax", "dir",
                "velmedia", "racha", "horaracha", "sol", "presMax", "horaPresMax", "presMin",
                "horaPresMin", "hrMedia", "hrMax", "horaHrMax", "hrMin", "horaHrMin",
            ),
        ),
    ),
    name_pattern=r"aemet|climatolog",
    trusted=(
        TrustedTable(
            "weather.daily",
            None,
            clean_aemet_daily,
            WEATHER_DAILY_SCHEMA,
            key=WEATHER_DAILY_KEY,
            partition_by=WEATHER_DAILY_PARTITION,
            evolution="New AEMET fields are kept as nullable text columns. "
            "Shared with weather.open_meteo_daily: the later ingest of a location and day wins.",
        ),
    ),
)  # fmt: skip
