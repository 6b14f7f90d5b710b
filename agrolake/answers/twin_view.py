"""The digital twin seen from one enclosure: its parcel data per harvest year, its
treatments and activities, the daily weather of each growing season and its NDVI.

Reads the refined twin tables and, for the daily series behind the season figures,
``trusted.weather_daily`` and ``trusted.remote_sensing_ndvi``, each filtered in the
scan (one enclosure's rows, never a whole table in memory)."""

from __future__ import annotations

from typing import Any

import polars as pl

from agrolake.answers.filters import matching
from agrolake.errors import UsageError
from agrolake.lake import Lake
from agrolake.lake.tables import TableRef
from agrolake.transforms.twin import Season

ENCLOSURES = TableRef("refined", "digital_twin.enclosures")
TREATMENTS = TableRef("refined", "digital_twin.treatments")
ACTIVITIES = TableRef("refined", "digital_twin.activities")
WEATHER = TableRef("trusted", "weather.daily")
NDVI = TableRef("trusted", "remote_sensing.ndvi")
SEARCHED = ("enclosure_id", "place_name", "variety", "location_id", "irrigation_system")
LISTED = (
    "enclosure_id", "place_name", "location_id", "variety", "irrigation_system", "crop_area_ha",
    "tree_count", "plantation_year",
)  # fmt: skip
MAX_SEARCH = 100


def _frame(lake: Lake, ref: TableRef, years: list[int] | None = None, **equal: str) -> pl.DataFrame:
    """A table's rows whose columns equal the given values, of the given ``year``
    partitions only (empty if never written)."""
    dataset = lake.tables.dataset(ref)
    if dataset is None:
        return pl.DataFrame()
    frame = pl.from_arrow(matching(dataset, {"year": years} if years else None, **equal))
    assert isinstance(frame, pl.DataFrame)
    return frame


def enclosures(lake: Lake, search: str | None = None) -> dict[str, Any]:
    """Every enclosure of the twin (its latest harvest year's facts and all its years),
    or those whose id, place, variety, municipality or irrigation contain ``search``."""
    search = (search or "").strip()
    if len(search) > MAX_SEARCH:
        raise UsageError(f"a search is at most {MAX_SEARCH} characters")
    twin = _frame(lake, ENCLOSURES)
    if not twin.height:
        return {"search": search, "enclosures": []}
    if search:
        needle = search.casefold()
        hit = pl.any_horizontal(
            pl.col(c).cast(pl.String).str.to_lowercase().str.contains(needle, literal=True)
            for c in SEARCHED
        )
        twin = twin.filter(hit.fill_null(False))
    listed = (
        twin.sort("enclosure_id", "year")
        .group_by("enclosure_id", maintain_order=True)
        .agg(*(pl.col(c).last() for c in LISTED[1:]), pl.col("year").alias("years"))
    )
    return {"search": search, "enclosures": listed.to_dicts()}


def enclosure(lake: Lake, enclosure_id: str) -> dict[str, Any]:
    """One enclosure's twin; shape in docs/ui.md. UsageError for an unknown id."""
    years = _frame(lake, ENCLOSURES, enclosure_id=enclosure_id)
    if not years.height:
        raise UsageError(f"no enclosure {enclosure_id!r} in {ENCLOSURES.sql_name}")
    years = years.sort("year")
    season = Season.parse(lake.settings.season_start, lake.settings.season_end)
    harvests = years["year"].to_list()
    locations = [x for x in years["location_id"].unique().to_list() if x is not None]
    return {
        "enclosure_id": enclosure_id,
        "season": {"start": lake.settings.season_start, "end": lake.settings.season_end},
        "years": years.to_dicts(),
        "treatments": _events(lake, TREATMENTS, enclosure_id),
        "activities": _events(lake, ACTIVITIES, enclosure_id),
        "weather": _weather(lake, locations[0] if locations else None, harvests, season),
        "ndvi": _ndvi(lake, enclosure_id, harvests, season),
    }


def _events(lake: Lake, ref: TableRef, enclosure_id: str) -> list[dict[str, Any]]:
    events = _frame(lake, ref, enclosure_id=enclosure_id)
    if not events.height:
        return []
    return events.drop("_ingest_id", strict=False).sort("date").to_dicts()


def _calendar_years(harvests: list[int], season: Season) -> list[int]:
    """The calendar years the harvests' seasons fall in (the year before too, for a
    season that spans the new year): the ``year`` partitions worth reading."""
    before = [h - 1 for h in harvests] if season.spans_new_year else []
    return sorted({*harvests, *before})


def _in_season(frame: pl.DataFrame, harvests: list[int], season: Season) -> pl.DataFrame:
    """Rows of the growing seasons of the given harvest years, with their ``season`` year."""
    return frame.with_columns(season.year_of(pl.col("date")).alias("season")).filter(
        pl.col("season").is_in(harvests)
    )


def _weather(
    lake: Lake, location_id: str | None, harvests: list[int], season: Season
) -> dict[str, Any]:
    """The daily weather of each growing season at the enclosure's municipality."""
    found: dict[str, Any] = {"location_id": location_id, "seasons": []}
    if location_id is None:
        return found
    daily = _frame(lake, WEATHER, _calendar_years(harvests, season), location_id=location_id)
    if not daily.height:
        return found
    daily = _in_season(daily, harvests, season).sort("date")
    for (year,), days in daily.group_by("season", maintain_order=True):
        found["seasons"].append(
            {
                "year": year,
                "days": days.select(
                    "date",
                    pl.col("temperature_min_c").alias("min_c"),
                    pl.col("temperature_max_c").alias("max_c"),
                    pl.col("temperature_mean_c").alias("mean_c"),
                    pl.col("precipitation_mm").alias("rain_mm"),
                ).to_dicts(),
            }
        )
    found["seasons"].sort(key=lambda s: s["year"])
    return found


def _ndvi(lake: Lake, enclosure_id: str, harvests: list[int], season: Season) -> list[Any]:
    """NDVI observations of each growing season."""
    values = _frame(lake, NDVI, _calendar_years(harvests, season), enclosure_id=enclosure_id)
    if not values.height:
        return []
    values = _in_season(values, harvests, season).sort("date")
    return [
        {"year": year, "points": points.select("date", "ndvi").to_dicts()}
        for (year,), points in sorted(
            values.group_by("season", maintain_order=True), key=lambda g: g[0]
        )
    ]
