"""Trusted → refined: the digital twin tables and the ML wine quality table.

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
* Wine samples are never deduplicated: identical analyses are real repeats.
"""

from __future__ import annotations

import polars as pl

# Output keys and partitions, for the writers (MERGE on the key, partition on disk).
ENCLOSURES_KEY: tuple[str, ...] = ("enclosure_id", "year")
ENCLOSURES_PARTITION: tuple[str, ...] = ("year",)
TREATMENTS_KEY: tuple[str, ...] = ("enclosure_id", "date", "product")
TREATMENTS_PARTITION: tuple[str, ...] = ("year",)
ACTIVITIES_KEY: tuple[str, ...] = ("enclosure_id", "date", "task")
ACTIVITIES_PARTITION: tuple[str, ...] = ("year",)
# Repeated wine samples are genuine, so there is no key: the table is rewritten whole.
WINE_QUALITY_KEY: tuple[str, ...] = ()
WINE_QUALITY_PARTITION: tuple[str, ...] = ()

WINE_FEATURES: tuple[str, ...] = (
    "fixed acidity", "volatile acidity", "citric acid", "residual sugar", "chlorides",
    "free sulfur dioxide", "total sulfur dioxide", "density", "pH", "sulphates", "alcohol",
)  # fmt: skip

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

_NAMES = pl.List(pl.String)


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


def digital_twin_enclosures(
    parcels: pl.LazyFrame, treatments: pl.LazyFrame, activities: pl.LazyFrame
) -> pl.LazyFrame:
    """The enclosure twin: parcel properties plus treatment and activity summaries.

    One row per (enclosure_id, year), sorted by them. Summaries are aggregated
    before joining, so treatments and activities never multiply each other.
    """
    properties = latest_parcels(parcels).select(
        "enclosure_id", pl.col("harvest_year").alias("year"), *ENCLOSURE_PROPERTIES
    )
    key = list(ENCLOSURES_KEY)
    return (
        properties.join(treatment_summary(treatments), on=key, how="left")
        .join(activity_summary(activities), on=key, how="left")
        .with_columns(
            pl.col("treatment_count", "activity_count").fill_null(0),
            pl.col("treatment_products", "activity_tasks").fill_null(pl.lit([], dtype=_NAMES)),
        )
        .select(*key, *ENCLOSURE_PROPERTIES, *TREATMENT_SUMMARY, *ACTIVITY_SUMMARY)
        .sort(key)
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


def ml_wine_quality(wine: pl.LazyFrame) -> pl.LazyFrame:
    """Every landed wine sample: the 11 UCI features, quality, ``_ingest_id``, ``_source``.

    Rows are ordered by ``_ingest_id`` and then by position in their file: the
    trusted ``_row`` when present, else the input order (a stable sort keeps it).
    ``_row`` is not in the output, so the schema is the same either way; the
    order it gave is kept.
    """
    order = ["_ingest_id", "_row"] if "_row" in wine.collect_schema() else ["_ingest_id"]
    return wine.sort(order, maintain_order=True).select(
        *WINE_FEATURES, "quality", "_ingest_id", "_source"
    )
