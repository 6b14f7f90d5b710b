"""The built-in tables' cleanings, schemas and by-value maps, by the names the cleaning
tests use (they were module-level functions before the declarations)."""

from __future__ import annotations

from agrolake.datasets.cleaning import by_value_of, cleaning_of
from agrolake.datasets.model import Dataset, Table
from agrolake.datasets.registry import builtin
from agrolake.datasets.trusted_schema import trusted_schema
from agrolake.transforms.by_value import ByValue


def dataset(dataset_id: str) -> Dataset:
    return next(d for d in builtin()[0] if d.id == dataset_id)


def table(dataset_id: str, name: str | None = None) -> Table:
    return dataset(dataset_id).table(name or dataset_id)


PARCELS = table("erp.parcels_and_treatments", "erp.parcels")
TREATMENTS = table("erp.parcels_and_treatments", "erp.treatments")
ACTIVITIES = table("erp.activities")
WINE = table("lab.wine_quality")
NDVI_FILES = table("remote_sensing.ndvi_files", "remote_sensing.ndvi")
NDVI_SERVICE = table("remote_sensing.ndvi_service", "remote_sensing.ndvi")
AEMET = table("weather.aemet_daily", "weather.daily")
OPEN_METEO = table("weather.open_meteo_daily", "weather.daily")

clean_parcels = cleaning_of(PARCELS)
clean_treatments = cleaning_of(TREATMENTS)
clean_activities = cleaning_of(ACTIVITIES)
clean_wine_quality = cleaning_of(WINE)
clean_ndvi_files = cleaning_of(NDVI_FILES)
clean_ndvi_service = cleaning_of(NDVI_SERVICE)
clean_aemet_daily = cleaning_of(AEMET)
clean_open_meteo_daily = cleaning_of(OPEN_METEO)

PARCELS_SCHEMA = trusted_schema(PARCELS)
TREATMENTS_SCHEMA = trusted_schema(TREATMENTS)
ACTIVITIES_SCHEMA = trusted_schema(ACTIVITIES)
WINE_QUALITY_SCHEMA = trusted_schema(WINE)
NDVI_SCHEMA = trusted_schema(NDVI_FILES)
WEATHER_DAILY_SCHEMA = trusted_schema(OPEN_METEO)  # the looser of the two: no station needed

_activities_by_value = by_value_of(ACTIVITIES)
assert _activities_by_value is not None
ACTIVITIES_BY_VALUE: ByValue = _activities_by_value
