"""``weather.daily``: the table both weather sources feed (Open-Meteo and AEMET).

One row per location (a municipality, ``<province>-<municipality>`` as in
enclosure ids) and day, in the same units whatever the source: °C, mm, m/s,
degrees, hours, hPa, %, MJ/m². A column a source does not measure is null on its
rows (AEMET has no evapotranspiration, Open-Meteo no pressure extremes or times
of day). Each source's module fills in the raw columns of the fields it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from agrolake.datasets.model import Checks, CustomCleaning, Field, Table
from agrolake.transforms.parsers import Parser

LOCATION_ID = "location_id"
NAME = "weather.daily"
KEY: tuple[str, ...] = (LOCATION_ID, "date")
PARTITION: tuple[str, ...] = ("year",)


def _f(name: str, type_: str = "float", low: float | None = None, high: float | None = None,
       **options: object) -> Field:  # fmt: skip
    return Field.model_validate(
        {"name": name, "type": type_, "checks": Checks(min=low, max=high), **options}
    )


# The trusted columns, in order, with their plausible ranges.
FIELDS: tuple[Field, ...] = (
    _f(LOCATION_ID, "string", required=True),
    _f("date", "date", required=True),
    _f("year", "int32", required=True, derived_from="date"),
    _f("temperature_mean_c", low=-60, high=60),
    _f("temperature_min_c", low=-60, high=60),
    _f("temperature_max_c", low=-60, high=60),
    _f("precipitation_mm", low=0, high=2000),
    _f("precipitation_trace", "boolean"),
    _f("relative_humidity_mean_pct", low=0, high=100),
    _f("relative_humidity_min_pct", low=0, high=100),
    _f("relative_humidity_max_pct", low=0, high=100),
    _f("wind_speed_mean_ms", low=0, high=150),
    _f("wind_speed_max_ms", low=0, high=150),
    _f("wind_gust_max_ms", low=0, high=150),
    _f("wind_direction_dominant_deg", low=0, high=360),
    _f("wind_gust_direction_deg", low=0, high=360),
    _f("sunshine_hours", low=0, high=24),
    _f("shortwave_radiation_mj_m2", low=0, high=60),
    _f("et0_mm", low=0, high=50),
    _f("pressure_max_hpa", low=500, high=1100),
    _f("pressure_min_hpa", low=500, high=1100),
    _f("temperature_min_time", "string"),
    _f("temperature_max_time", "string"),
    _f("wind_gust_time", "string"),
    _f("station_id", "string"),
    _f("station_name", "string"),
    _f("elevation_m", low=-500, high=9000),
    _f("latitude", low=-90, high=90),
    _f("longitude", low=-180, high=180),
)


# A field's raw column, and how it is read: a named parser or a function.
Source = tuple[str, str | Parser | None] | str


def with_sources(
    sources: Mapping[str, Source], **changes: Mapping[str, object]
) -> tuple[Field, ...]:
    """The weather fields with a source's raw columns (and parsers) filled in.

    A field the source lacks keeps no source: its column is null on that source's
    rows. A source's column is optional unless its field is required; ``changes``
    updates named fields further (``station_id={"required": True}``).
    """
    unknown = set(sources) - {f.name for f in FIELDS}
    assert not unknown, f"not weather fields: {unknown}"
    fields = []
    for field in FIELDS:
        update: dict[str, object] = dict(changes.get(field.name, {}))
        if field.name in sources:
            given = sources[field.name]
            column, parser = (given, None) if isinstance(given, str) else given
            update["source"] = column
            # Sources leave out what a station or a request lacks: optional unless required.
            update.setdefault("optional", not update.get("required", field.required))
            if isinstance(parser, str):
                update["parser"] = parser
            elif parser is not None:
                update["parse_with"] = parser
        fields.append(field.model_copy(update=update) if update else field)
    return tuple(fields)


def table(
    fields: tuple[Field, ...],
    clean: CustomCleaning,
    required_columns: tuple[str, ...] = (),
    ignored_columns: tuple[str, ...] = (),
) -> Table:
    """``weather.daily`` as one source writes it: its fields and cleaning, the shared key."""
    return Table(
        name=NAME,
        fields=fields,
        key=KEY,
        partition_by=PARTITION,
        required_columns=required_columns,
        ignored_columns=ignored_columns,
        clean=clean,
        description="Daily weather per municipality, from Open-Meteo and AEMET.",
    )


def with_nulls(lf: pl.LazyFrame, fields: Sequence[Field], derived: Sequence[str]) -> pl.LazyFrame:
    """Null columns for the fields a source does not have (so every source has every column)."""
    names = set(lf.collect_schema().names())
    missing = [f for f in fields if f.source is None and f.name not in derived]
    return lf.with_columns(
        pl.lit(None, f.dtype).alias(f.name) for f in missing if f.name not in names
    )


def with_year(lf: pl.LazyFrame) -> pl.LazyFrame:
    return lf.with_columns(pl.col("date").dt.year().cast(pl.Int32).alias("year"))
