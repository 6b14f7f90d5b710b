"""Ingestion from third-party HTTP APIs into the landing zone: weather and NDVI.

Library code: the flows in ``etl/`` and the ``agrolake fetch`` command call it.
"""

from agrolake.apis.client import ApiClient
from agrolake.apis.fetch import FetchSummary, Landed, Request
from agrolake.apis.open_meteo import fetch_weather, weather_requests
from agrolake.apis.teledetection import fetch_ndvi, ndvi_requests

__all__ = [
    "ApiClient",
    "FetchSummary",
    "Landed",
    "Request",
    "fetch_ndvi",
    "fetch_weather",
    "ndvi_requests",
    "weather_requests",
]
