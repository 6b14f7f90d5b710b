"""The digital twin of the enclosures: refined tables built from the trusted ERP,
weather and NDVI tables (the builders are pure: ``agrolake.transforms.twin``)."""

from __future__ import annotations

from typing import Any

from agrolake.datasets.model import RefinedTable
from agrolake.transforms import twin

PARCELS, TREATMENTS = "trusted.erp_parcels", "trusted.erp_treatments"
ACTIVITIES, WEATHER, NDVI = (
    "trusted.erp_activities",
    "trusted.weather_daily",
    "trusted.remote_sensing_ndvi",
)


def _season(settings: Any) -> dict[str, Any]:
    """The growing season the weather and NDVI are summarised over (settings)."""
    return {"season": twin.Season.parse(settings.season_start, settings.season_end)}


REFINED = (
    RefinedTable(
        "digital_twin.enclosures",
        (PARCELS, TREATMENTS, ACTIVITIES, WEATHER, NDVI),
        twin.digital_twin_enclosures,
        twin.ENCLOSURES_KEY,
        twin.ENCLOSURES_PARTITION,
        required=(PARCELS,),
        options=_season,
        description="One row per enclosure and harvest year: parcel, treatments, "
        "activities, the season's weather and NDVI.",
    ),
    RefinedTable(
        "digital_twin.treatments",
        (TREATMENTS,),
        twin.digital_twin_treatments,
        twin.TREATMENTS_KEY,
        twin.TREATMENTS_PARTITION,
        required=(TREATMENTS,),
        description="Treatment events for an enclosure's timeline.",
    ),
    RefinedTable(
        "digital_twin.activities",
        (ACTIVITIES,),
        twin.digital_twin_activities,
        twin.ACTIVITIES_KEY,
        twin.ACTIVITIES_PARTITION,
        required=(ACTIVITIES,),
        description="Field activity events for an enclosure's timeline.",
    ),
)
