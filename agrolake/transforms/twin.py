"""Trusted → refined: the digital twin tables of the enclosures.

Every function takes trusted LazyFrames and returns a LazyFrame; nothing here
reads or writes storage, so the flows decide where frames come from and go to.

Decisions that shape the outputs:

* The enclosure twin has one row per parcel row, i.e. per (enclosure_id,
  harvest_year) of ``trusted.erp_parcels``. Treatments and activities of an
  enclosure-year with no parcel row are not in it (there is nothing to attach
  them to), but they are still in the treatment and activity timelines.
* Counts are 0 and lists are empty when an enclosure-year has no treatments or
  activities: "none happened" is a fact, not a missing value. Sums and dates
  are null instead, because 0.0 would claim a measured dose of zero and there
  is no date to give. A sum is also null when every summed value is null.
* ``total_dose`` adds doses as recorded, whatever their unit (``dose_unit``);
  it is a rough intensity figure, the timeline keeps the per-product detail.
* Product and task names fall back to their codes when the name is missing or
  blank, so an event still shows up in the summary lists.
* Weather and NDVI are summarised over the growing season of the harvest year
  (``Season``: 1 March to 31 October by default). An enclosure's weather is its
  municipality's (``location_id`` = ``<province>-<municipality>``). Counts of
  records (weather days, NDVI observations) are 0 when there are none; frost
  days are null without temperatures, as 0 would claim a frost-free season.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

# Output keys and partitions, for the writers (MERGE on the key, partition on disk).
ENCLOSURES_KEY: tuple[str, ...] = ("enclosure_id", "year")
ENCLOSURES_PARTITION: tuple[str, ...] = ("year",)
TREATMENTS_KEY: tuple[str, ...] = ("enclosure_id", "date", "product")
TREATMENTS_PARTITION: tuple[str, ...] = ("year",)
ACTIVITIES_KEY: tuple[str, ...] = ("enclosure_id", "date", "task")
ACTIVITIES_PARTITION: tuple[str, ...] = ("year",)
# Parcel properties carried into the enclosure twin, in output order (after the key).
ENCLOSURE_PROPERTIES: tuple[str, ...] = (
    "province_id", "municipality_id", "polygon", "parcel", "enclosure", "place_name",
    "crop_id", "variety", "sigpac_area_ha", "crop_area_ha", "irrigation_system",
    "plantation_year", "tree_count", "planting_frame_h_m", "planting_frame_v_m",
    "slope_pct", "vulnerable_zone", "zepa_zone", "sie_zone",
)  # fmt: skip

TREATMENT_SUMMARY: tuple[str, ...] = (
    "treatment_count", "treatment_products", "total_dose", "total_quantity",
    "first_treatment_date", "last_treatment_date",
)  # fmt: skip
ACTIVITY_SUMMARY: tuple[str, ...] = ("activity_count", "activity_tasks", "last_activity_date")
WEATHER_SUMMARY: tuple[str, ...] = (
    "season_weather_days", "season_precipitation_mm", "season_temperature_mean_c",
    "season_temperature_min_c", "season_temperature_max_c", "season_frost_days",
    "season_weather_sources",
)  # fmt: skip
NDVI_SUMMARY: tuple[str, ...] = ("season_ndvi_observations", "season_ndvi_mean", "season_ndvi_max")
# The enclosure twin's columns after its key.
ENCLOSURE_COLUMNS: tuple[str, ...] = (
    *ENCLOSURE_PROPERTIES, *TREATMENT_SUMMARY, *ACTIVITY_SUMMARY,
    "location_id", *WEATHER_SUMMARY, *NDVI_SUMMARY,
)  # fmt: skip
_COUNTS = ("treatment_count", "activity_count", "season_weather_days", "season_ndvi_observations")


@dataclass(frozen=True)
class Season:
    """The growing season of a harvest year, as (month, day) bounds, both included.

    When ``start`` falls after ``end`` in the calendar, the season begins in the
    year before the harvest (1 November to 31 July, say).
    """

    start: tuple[int, int] = (3, 1)
    end: tuple[int, int] = (10, 31)

    @classmethod
    def parse(cls, start: str, end: str) -> Season:
        """From "MM-DD" texts (the settings' form)."""

        def month_day(text: str) -> tuple[int, int]:
            parsed = date.fromisoformat(f"2001-{text}")
            return parsed.month, parsed.day

        return cls(month_day(start), month_day(end))

    @property
    def spans_new_year(self) -> bool:
        return self.start > self.end

    def year_of(self, day: pl.Expr) -> pl.Expr:
        """The harvest year whose season holds ``day``, or null when no season does."""
        md = day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)
        start = self.start[0] * 100 + self.start[1]
        end = self.end[0] * 100 + self.end[1]
        year = day.dt.year().cast(pl.Int32)
        if not self.spans_new_year:
            return pl.when(md.is_between(start, end)).then(year)
        return pl.when(md >= start).then(year + 1).when(md <= end).then(year)


_NAMES = pl.List(pl.String)
_MEASURED = ("temperature_mean_c", "temperature_min_c", "temperature_max_c", "precipitation_mm")


def _name_or_code(name: str, code: str) -> pl.Expr:
    """The readable name, else the code; blanks count as missing (exports write "")."""

    def present(column: str) -> pl.Expr:
        value = pl.col(column).str.strip_chars()
        return pl.when(value != "").then(value)

    return pl.coalesce(present(name), present(code))


def _distinct_sorted(values: pl.Expr) -> pl.Expr:
    """Distinct non-null values, sorted so the list is the same on every run."""
    return values.drop_nulls().unique().sort()


def _sum_or_null(column: str) -> pl.Expr:
    """Sum of the non-null values; null rather than 0.0 when there are none."""
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum())


def latest_parcels(parcels: pl.LazyFrame) -> pl.LazyFrame:
    """One parcel row per (enclosure_id, harvest_year): the most recently ingested.

    The trusted MERGE should already guarantee this; the twin must not fan out if
    it ever does not. Ties on ``_ingested_at`` go to the greater ``_ingest_id`` so
    the winner does not depend on scan order.
    """
    key = ["enclosure_id", "harvest_year"]
    return parcels.sort([*key, "_ingested_at", "_ingest_id"], nulls_last=False).unique(
        subset=key, keep="last", maintain_order=True
    )


def treatment_summary(treatments: pl.LazyFrame) -> pl.LazyFrame:
    """Per (enclosure_id, year = harvest_year): count, products, dose, quantity, dates."""
    return (
        treatments.rename({"harvest_year": "year"})
        .group_by(ENCLOSURES_KEY)
        .agg(
            pl.len().alias("treatment_count"),
            _distinct_sorted(_name_or_code("product_name", "product")).alias("treatment_products"),
            _sum_or_null("dose").alias("total_dose"),
            _sum_or_null("quantity").alias("total_quantity"),
            pl.col("treatment_date").min().alias("first_treatment_date"),
            pl.col("treatment_date").max().alias("last_treatment_date"),
        )
    )


def activity_summary(activities: pl.LazyFrame) -> pl.LazyFrame:
    """Per (enclosure_id, year): activity count, distinct task names, last date."""
    return activities.group_by(ENCLOSURES_KEY).agg(
        pl.len().alias("activity_count"),
        _distinct_sorted(_name_or_code("task_name", "task")).alias("activity_tasks"),
        pl.col("activity_date").max().alias("last_activity_date"),
    )


def weather_summary(weather: pl.LazyFrame, season: Season = Season()) -> pl.LazyFrame:
    """Per (location_id, year): the season's weather days, rain, temperatures, frost days.

    A day counts when it has a temperature or a precipitation. The daily mean is
    the measured mean, else the midpoint of the day's minimum and maximum.
    """
    mean = pl.coalesce(
        pl.col("temperature_mean_c"),
        (pl.col("temperature_min_c") + pl.col("temperature_max_c")) / 2,
    )
    measured = pl.any_horizontal(pl.col(c).is_not_null() for c in _MEASURED)
    frost_days = (pl.col("temperature_min_c") < 0).sum().cast(pl.UInt32)
    return (
        weather.with_columns(season.year_of(pl.col("date")).alias("year"))
        .filter(pl.col("year").is_not_null() & measured)
        .group_by("location_id", "year")
        .agg(
            pl.len().alias("season_weather_days"),
            _sum_or_null("precipitation_mm").alias("season_precipitation_mm"),
            mean.mean().alias("season_temperature_mean_c"),
            pl.col("temperature_min_c").min().alias("season_temperature_min_c"),
            pl.col("temperature_max_c").max().alias("season_temperature_max_c"),
            pl.when(pl.col("temperature_min_c").count() > 0)
            .then(frost_days)
            .alias("season_frost_days"),
            _distinct_sorted(pl.col("_source")).alias("season_weather_sources"),
        )
    )


def ndvi_summary(ndvi: pl.LazyFrame, season: Season = Season()) -> pl.LazyFrame:
    """Per (enclosure_id, year): the season's NDVI observations, mean and maximum."""
    return (
        ndvi.with_columns(season.year_of(pl.col("date")).alias("year"))
        .filter(pl.col("year").is_not_null() & pl.col("ndvi").is_not_null())
        .group_by(ENCLOSURES_KEY)
        .agg(
            pl.len().alias("season_ndvi_observations"),
            pl.col("ndvi").mean().alias("season_ndvi_mean"),
            pl.col("ndvi").max().alias("season_ndvi_max"),
        )
    )


def digital_twin_enclosures(
    parcels: pl.LazyFrame,
    treatments: pl.LazyFrame,
    activities: pl.LazyFrame,
    weather: pl.LazyFrame | None = None,
    ndvi: pl.LazyFrame | None = None,
    *,
    season: Season = Season(),
) -> pl.LazyFrame:
    """The enclosure twin: parcel properties, treatment and activity summaries, and the
    season's weather (of its municipality) and NDVI.

    One row per (enclosure_id, year), sorted by them. Summaries are aggregated
    before joining, so treatments, activities, weather days and NDVI observations
    never multiply each other. Without weather or NDVI inputs their columns are null.
    """
    properties = latest_parcels(parcels).select(
        "enclosure_id",
        pl.col("harvest_year").alias("year"),
        *ENCLOSURE_PROPERTIES,
        pl.concat_str("province_id", "municipality_id", separator="-").alias("location_id"),
    )
    key = list(ENCLOSURES_KEY)
    weather = weather if weather is not None else _no_weather()
    ndvi = ndvi if ndvi is not None else _no_ndvi()
    return (
        properties.join(treatment_summary(treatments), on=key, how="left")
        .join(activity_summary(activities), on=key, how="left")
        .join(weather_summary(weather, season), on=["location_id", "year"], how="left")
        .join(ndvi_summary(ndvi, season), on=key, how="left")
        .with_columns(
            pl.col(*_COUNTS).fill_null(0),
            pl.col("treatment_products", "activity_tasks", "season_weather_sources").fill_null(
                pl.lit([], dtype=_NAMES)
            ),
        )
        .select(*key, *ENCLOSURE_COLUMNS)
        .sort(key)
    )


def _no_weather() -> pl.LazyFrame:
    schema = {"location_id": pl.String(), "date": pl.Date(), "_source": pl.String()}
    schema |= dict.fromkeys(_MEASURED, pl.Float64())
    return pl.LazyFrame(schema=schema)


def _no_ndvi() -> pl.LazyFrame:
    return pl.LazyFrame(
        schema={"enclosure_id": pl.String(), "date": pl.Date(), "ndvi": pl.Float64()}
    )


def digital_twin_treatments(treatments: pl.LazyFrame) -> pl.LazyFrame:
    """Treatment events for a timeline, sorted by enclosure_id, date, product."""
    return treatments.select(
        "enclosure_id",
        pl.col("harvest_year").alias("year"),
        pl.col("treatment_date").alias("date"),
        "product",
        "product_name",
        "formulation",
        "pest_effect",
        "dose",
        "dose_unit",
        "quantity",
        "treated_area_ha",
        "safety_period_days",
        "_ingest_id",
    ).sort(TREATMENTS_KEY, maintain_order=True)


def digital_twin_activities(activities: pl.LazyFrame) -> pl.LazyFrame:
    """Field activity events for a timeline, sorted by enclosure_id, date, task."""
    return activities.select(
        "enclosure_id",
        "year",
        pl.col("activity_date").alias("date"),
        "task",
        "task_name",
        "product",
        "dose",
        "parcel_name",
        "_ingest_id",
    ).sort(ACTIVITIES_KEY, maintain_order=True)
