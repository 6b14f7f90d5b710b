"""Deterministic generators of realistic sample files for demos, tests and benchmarks.

Every generator takes an explicit ``seed`` and uses its own ``random.Random``
(no global state), so the same seed always writes byte-identical files.
Pure library code: no orchestration or CLI imports.
"""

from agrolake.samples.activities import (
    ACTIVITY_HEADERS,
    write_activities,
    write_bulk_csv,
)
from agrolake.samples.demo import write_bad_files, write_demo_set, write_weather_and_ndvi
from agrolake.samples.ndvi import ndvi_service_answer, write_ndvi_csv, write_ndvi_service
from agrolake.samples.parcels import (
    PARCEL_HEADERS,
    TREATMENT_HEADERS,
    write_parcels_and_treatments,
)
from agrolake.samples.weather import (
    STATIONS,
    aemet_records,
    open_meteo_answer,
    write_aemet_daily,
    write_open_meteo_daily,
)
from agrolake.samples.wine import WINE_COLUMNS, write_wine_quality

__all__ = [
    "ACTIVITY_HEADERS",
    "PARCEL_HEADERS",
    "STATIONS",
    "TREATMENT_HEADERS",
    "WINE_COLUMNS",
    "aemet_records",
    "ndvi_service_answer",
    "open_meteo_answer",
    "write_activities",
    "write_aemet_daily",
    "write_bad_files",
    "write_bulk_csv",
    "write_demo_set",
    "write_ndvi_csv",
    "write_ndvi_service",
    "write_open_meteo_daily",
    "write_parcels_and_treatments",
    "write_weather_and_ndvi",
    "write_wine_quality",
]
