"""Raw → trusted cleaning transforms: pure, row-wise polars LazyFrame functions.

Each ``clean_*`` takes the raw table as read (every column text, headers as in
the file) and returns the trusted columns, typed, plus ``_errors``: the
problems of each row as ``{column, check, value}`` (an empty list is a valid
row). Checks are ``type:<dtype>``, ``not_null`` and ``range:<low>..<high>``
(a bound left empty is open). Lineage columns on the input (``_row`` from
``with_row_index("_row")``, ``_ingest_id``, ``_ingested_at``, ``_source``)
pass through, so ``quarantined_rows`` can point back at the raw row.

Typical use::

    cleaned = clean_parcels(raw.with_row_index("_row"))
    trusted = valid_rows(cleaned)
    quarantine = quarantined_rows(cleaned, "erp.parcels")
"""

from agrolake.transforms.by_value import ByValue, Split, split_by_value, split_rows
from agrolake.transforms.common import (
    ERRORS,
    ERRORS_DTYPE,
    ROW,
    CleanOptions,
    match_sources,
    quarantined_rows,
    valid_rows,
)
from agrolake.transforms.erp import (
    ACTIVITIES_BY_VALUE,
    ACTIVITIES_SCHEMA,
    PARCELS_SCHEMA,
    TREATMENTS_SCHEMA,
    clean_activities,
    clean_parcels,
    clean_treatments,
)
from agrolake.transforms.lab import WINE_QUALITY_SCHEMA, clean_wine_quality
from agrolake.transforms.remote_sensing import (
    NDVI_KEY,
    NDVI_PARTITION,
    NDVI_SCHEMA,
    clean_ndvi_files,
    clean_ndvi_service,
)
from agrolake.transforms.weather import (
    WEATHER_DAILY_KEY,
    WEATHER_DAILY_PARTITION,
    WEATHER_DAILY_SCHEMA,
    clean_aemet_daily,
    clean_open_meteo_daily,
)

__all__ = [
    "ACTIVITIES_BY_VALUE",
    "ACTIVITIES_SCHEMA",
    "ERRORS",
    "ERRORS_DTYPE",
    "NDVI_KEY",
    "NDVI_PARTITION",
    "NDVI_SCHEMA",
    "PARCELS_SCHEMA",
    "ROW",
    "TREATMENTS_SCHEMA",
    "WEATHER_DAILY_KEY",
    "WEATHER_DAILY_PARTITION",
    "WEATHER_DAILY_SCHEMA",
    "WINE_QUALITY_SCHEMA",
    "ByValue",
    "CleanOptions",
    "Split",
    "clean_activities",
    "clean_aemet_daily",
    "clean_ndvi_files",
    "clean_ndvi_service",
    "clean_open_meteo_daily",
    "clean_parcels",
    "clean_treatments",
    "clean_wine_quality",
    "match_sources",
    "quarantined_rows",
    "split_by_value",
    "split_rows",
    "valid_rows",
]
