"""Tests for the trusted → refined transforms in agrolake.transforms.twin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from agrolake.datasets.builtin.lab_wine_quality import FEATURES as WINE_FEATURES
from agrolake.datasets.builtin.lab_wine_quality import ml_wine_quality
from agrolake.transforms.twin import (
    ACTIVITIES_KEY,
    ACTIVITIES_PARTITION,
    ENCLOSURES_KEY,
    ENCLOSURES_PARTITION,
    TREATMENTS_KEY,
    TREATMENTS_PARTITION,
    Season,
    digital_twin_activities,
    digital_twin_enclosures,
    digital_twin_treatments,
)

LINEAGE: dict[str, pl.DataType] = {
    "_ingest_id": pl.String(),
    "_ingested_at": pl.Datetime("us", "UTC"),
    "_source": pl.String(),
}

PARCELS: dict[str, pl.DataType] = {
    "enclosure_id": pl.String(),
    "harvest_year": pl.Int32(),
    "province_id": pl.Int32(),
    "municipality_id": pl.Int32(),
    "aggregate": pl.Int32(),
    "zone": pl.Int32(),
    "polygon": pl.Int32(),
    "parcel": pl.Int32(),
    "enclosure": pl.Int32(),
    "place_name": pl.String(),
    "pac_order": pl.Int32(),
    "pac_suborder": pl.Int32(),
    "sigpac_area_ha": pl.Float64(),
    "crop_area_ha": pl.Float64(),
    "crop_id": pl.String(),
    "variety": pl.String(),
    "irrigation_system": pl.String(),
    "tenure_regime_id": pl.String(),
    "plantation_year": pl.Int32(),
    "tree_count": pl.Int32(),
    "planting_frame_h_m": pl.Float64(),
    "planting_frame_v_m": pl.Float64(),
    "sowing_density": pl.Float64(),
    "atria_adv_asv": pl.Boolean(),
    "vulnerable_zone": pl.Boolean(),
    "specific_zone": pl.Boolean(),
    "parcel_use": pl.String(),
    "advisory": pl.Boolean(),
    "slope_pct": pl.Float64(),
    "uhc": pl.String(),
    "uhc_description": pl.String(),
    "zepa_zone": pl.Boolean(),
    "sie_zone": pl.Boolean(),
    **LINEAGE,
}

TREATMENTS: dict[str, pl.DataType] = {
    "enclosure_id": pl.String(),
    "harvest_year": pl.Int32(),
    "treatment_date": pl.Date(),
    "product": pl.String(),
    "product_name": pl.String(),
    "formulation": pl.String(),
    "pest_effect_id": pl.String(),
    "pest_effect": pl.String(),
    "weed_id": pl.String(),
    "place_name": pl.String(),
    "pac_crop_code": pl.String(),
    "pac_crop": pl.String(),
    "broth_l_ha": pl.Float64(),
    "dose_type_id": pl.String(),
    "dose_unit": pl.String(),
    "treated_area_ha": pl.Float64(),
    "quantity": pl.Float64(),
    "safety_period_days": pl.Int32(),
    "dose": pl.Float64(),
    "crop_area_ha": pl.Float64(),
    "sigpac_area_ha": pl.Float64(),
    "vulnerable_zone": pl.Boolean(),
    "parcel_use_id": pl.String(),
    **LINEAGE,
}

ACTIVITIES: dict[str, pl.DataType] = {
    "activity_date": pl.Date(),
    "year": pl.Int32(),
    "task": pl.String(),
    "task_name": pl.String(),
    "product": pl.String(),
    "dose": pl.String(),
    "parcel_name": pl.String(),
    "enclosure_id": pl.String(),
    **LINEAGE,
}

WINE: dict[str, pl.DataType] = {
    **{feature: pl.Float64() for feature in WINE_FEATURES},
    "quality": pl.Int32(),
    **LINEAGE,
    "_row": pl.Int64(),
}

INGESTED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NAMES = pl.List(pl.String)


def trusted(schema: dict[str, pl.DataType], *rows: dict[str, Any]) -> pl.LazyFrame:
    """A trusted table with the full schema; unnamed columns are null, lineage defaulted."""
    defaults = {"_ingest_id": "ing-1", "_ingested_at": INGESTED, "_source": "test"}
    full = [{name: {**defaults, **row}.get(name) for name in schema} for row in rows]
    return pl.LazyFrame(full, schema=schema)


def parcel(enclosure_id: str, year: int, **values: Any) -> dict[str, Any]:
    return {"enclosure_id": enclosure_id, "harvest_year": year, "crop_id": "VID", **values}


def treatment(
    enclosure_id: str, year: int, day: date, product: str, **values: Any
) -> dict[str, Any]:
    return {
        "enclosure_id": enclosure_id,
        "harvest_year": year,
        "treatment_date": day,
        "product": product,
        **values,
    }


def activity(enclosure_id: str, day: date, task: str, **values: Any) -> dict[str, Any]:
    return {
        "enclosure_id": enclosure_id,
        "activity_date": day,
        "year": day.year,
        "task": task,
        **values,
    }


def twin(
    parcels: list[dict[str, Any]],
    treatments: list[dict[str, Any]] = [],  # noqa: B006 - never mutated
    activities: list[dict[str, Any]] = [],  # noqa: B006 - never mutated
) -> pl.DataFrame:
    return digital_twin_enclosures(
        trusted(PARCELS, *parcels),
        trusted(TREATMENTS, *treatments),
        trusted(ACTIVITIES, *activities),
    ).collect()


def row(frame: pl.DataFrame, enclosure_id: str, year: int) -> dict[str, Any]:
    [found] = frame.filter(enclosure_id=enclosure_id, year=year).to_dicts()
    return found


# Enclosure twin -----------------------------------------------------------------------


def test_treatments_and_activities_are_summarised_per_enclosure_year() -> None:
    frame = twin(
        [parcel("E1", 2024, tree_count=120, slope_pct=3.5, zepa_zone=True)],
        [
            treatment(
                "E1", 2024, date(2024, 4, 10), "P1", product_name="Azufre", dose=2.0, quantity=10.0
            ),
            treatment(
                "E1", 2024, date(2024, 3, 1), "P2", product_name="Cobre", dose=1.5, quantity=None
            ),
            treatment(
                "E1", 2024, date(2024, 6, 20), "P3", product_name=None, dose=0.5, quantity=4.0
            ),
            treatment(
                "E1", 2024, date(2024, 6, 21), "P1", product_name="Azufre", dose=2.0, quantity=10.0
            ),
        ],
        [
            activity("E1", date(2024, 2, 1), "PODA", task_name="Poda"),
            activity("E1", date(2024, 9, 5), "RECOLECCION", task_name="Recolección"),
            activity("E1", date(2024, 3, 1), "PODA", task_name="Poda", _ingest_id="ing-2"),
        ],
    )
    got = row(frame, "E1", 2024)
    assert got["tree_count"] == 120 and got["slope_pct"] == 3.5 and got["zepa_zone"] is True
    assert got["treatment_count"] == 4
    # Names sorted and distinct; P3 has no name and shows up by its code.
    assert got["treatment_products"] == ["Azufre", "Cobre", "P3"]
    assert got["total_dose"] == pytest.approx(6.0)
    assert got["total_quantity"] == pytest.approx(24.0)  # the null quantity is skipped
    assert got["first_treatment_date"] == date(2024, 3, 1)
    assert got["last_treatment_date"] == date(2024, 6, 21)
    assert got["activity_count"] == 3
    assert got["activity_tasks"] == ["Poda", "Recolección"]
    assert got["last_activity_date"] == date(2024, 9, 5)


def test_enclosure_without_events_has_zero_counts_and_empty_lists() -> None:
    frame = twin(
        [parcel("E1", 2024), parcel("E2", 2024)],
        [treatment("E1", 2024, date(2024, 4, 1), "P1", dose=1.0)],
        [activity("E1", date(2024, 4, 2), "PODA", task_name="Poda")],
    )
    got = row(frame, "E2", 2024)
    assert got["treatment_count"] == 0 and got["activity_count"] == 0
    assert got["treatment_products"] == [] and got["activity_tasks"] == []
    # No treatment is not a measured dose of zero: sums and dates stay null.
    assert got["total_dose"] is None and got["total_quantity"] is None
    assert got["first_treatment_date"] is None and got["last_treatment_date"] is None
    assert got["last_activity_date"] is None


def test_no_events_at_all_still_gives_every_parcel_row() -> None:
    frame = twin([parcel("E1", 2023), parcel("E1", 2024)])
    assert frame.height == 2
    assert frame["treatment_count"].to_list() == [0, 0]
    assert frame["activity_tasks"].to_list() == [[], []]


def test_blank_names_fall_back_to_codes_and_null_doses_sum_to_null() -> None:
    frame = twin(
        [parcel("E1", 2024)],
        [
            treatment("E1", 2024, date(2024, 4, 1), "P1", product_name="  "),
            treatment("E1", 2024, date(2024, 4, 2), "P2", product_name="Cobre"),
        ],
        [activity("E1", date(2024, 4, 2), "RIEGO", task_name="")],
    )
    got = row(frame, "E1", 2024)
    assert got["treatment_products"] == ["Cobre", "P1"]
    assert got["activity_tasks"] == ["RIEGO"]
    assert got["treatment_count"] == 2 and got["total_dose"] is None


def test_events_of_another_year_or_enclosure_do_not_leak() -> None:
    frame = twin(
        [parcel("E1", 2023), parcel("E1", 2024), parcel("E2", 2024)],
        [
            treatment("E1", 2023, date(2023, 5, 1), "OLD", product_name="Viejo", dose=9.0),
            # Harvest year decides, not the calendar year of the date.
            treatment("E1", 2024, date(2023, 12, 20), "NEW", product_name="Nuevo", dose=1.0),
            treatment("E3", 2024, date(2024, 5, 1), "ORPHAN", dose=5.0),
        ],
        [
            activity("E1", date(2023, 8, 1), "VENDIMIA", task_name="Vendimia"),
            activity("E1", date(2024, 2, 1), "PODA", task_name="Poda"),
        ],
    )
    old, new, other = row(frame, "E1", 2023), row(frame, "E1", 2024), row(frame, "E2", 2024)
    assert (old["treatment_products"], old["total_dose"]) == (["Viejo"], 9.0)
    assert (new["treatment_products"], new["total_dose"]) == (["Nuevo"], 1.0)
    assert new["first_treatment_date"] == date(2023, 12, 20)
    assert (old["activity_tasks"], new["activity_tasks"]) == (["Vendimia"], ["Poda"])
    assert other["treatment_count"] == 0 and other["activity_count"] == 0
    # Treatments of an enclosure with no parcel row have nothing to attach to.
    assert "E3" not in frame["enclosure_id"].to_list()


def test_duplicated_parcel_rows_keep_the_latest_ingestion() -> None:
    later = INGESTED + timedelta(days=1)
    frame = twin(
        [
            parcel("E1", 2024, tree_count=1, _ingest_id="ing-1"),
            parcel("E1", 2024, tree_count=3, _ingest_id="ing-3", _ingested_at=later),
            parcel("E1", 2024, tree_count=2, _ingest_id="ing-2"),
        ],
        [treatment("E1", 2024, date(2024, 4, 1), "P1", dose=1.0)],
    )
    assert frame.height == 1
    got = row(frame, "E1", 2024)
    assert got["tree_count"] == 3
    assert got["treatment_count"] == 1  # the duplicates did not multiply the treatments


def test_ties_on_ingestion_time_are_broken_by_ingest_id() -> None:
    rows = [
        parcel("E1", 2024, tree_count=2, _ingest_id="ing-2"),
        parcel("E1", 2024, tree_count=1, _ingest_id="ing-1"),
    ]
    assert twin(rows)["tree_count"].to_list() == [2]
    assert twin(rows[::-1])["tree_count"].to_list() == [2]


def test_enclosure_twin_schema_and_order() -> None:
    frame = twin(
        [parcel("E2", 2024), parcel("E1", 2024), parcel("E2", 2023), parcel("E1", 2023)],
        [treatment("E1", 2024, date(2024, 4, 1), "P1", dose=1.0)],
        [activity("E1", date(2024, 4, 2), "PODA")],
    )
    assert frame.select(ENCLOSURES_KEY).rows() == [
        ("E1", 2023),
        ("E1", 2024),
        ("E2", 2023),
        ("E2", 2024),
    ]
    assert frame.schema == pl.Schema(
        {
            "enclosure_id": pl.String(),
            "year": pl.Int32(),
            "province_id": pl.Int32(),
            "municipality_id": pl.Int32(),
            "polygon": pl.Int32(),
            "parcel": pl.Int32(),
            "enclosure": pl.Int32(),
            "place_name": pl.String(),
            "crop_id": pl.String(),
            "variety": pl.String(),
            "sigpac_area_ha": pl.Float64(),
            "crop_area_ha": pl.Float64(),
            "irrigation_system": pl.String(),
            "plantation_year": pl.Int32(),
            "tree_count": pl.Int32(),
            "planting_frame_h_m": pl.Float64(),
            "planting_frame_v_m": pl.Float64(),
            "slope_pct": pl.Float64(),
            "vulnerable_zone": pl.Boolean(),
            "zepa_zone": pl.Boolean(),
            "sie_zone": pl.Boolean(),
            "treatment_count": pl.UInt32(),
            "treatment_products": NAMES,
            "total_dose": pl.Float64(),
            "total_quantity": pl.Float64(),
            "first_treatment_date": pl.Date(),
            "last_treatment_date": pl.Date(),
            "activity_count": pl.UInt32(),
            "activity_tasks": NAMES,
            "last_activity_date": pl.Date(),
            "location_id": pl.String(),
            "season_weather_days": pl.UInt32(),
            "season_precipitation_mm": pl.Float64(),
            "season_temperature_mean_c": pl.Float64(),
            "season_temperature_min_c": pl.Float64(),
            "season_temperature_max_c": pl.Float64(),
            "season_frost_days": pl.UInt32(),
            "season_weather_sources": NAMES,
            "season_ndvi_observations": pl.UInt32(),
            "season_ndvi_mean": pl.Float64(),
            "season_ndvi_max": pl.Float64(),
        }
    )
    assert frame.select(ENCLOSURES_KEY).is_duplicated().sum() == 0


def test_enclosure_twin_of_empty_inputs_is_empty_with_the_same_schema() -> None:
    empty = twin([])
    full = twin([parcel("E1", 2024)])
    assert empty.height == 0 and empty.schema == full.schema


def test_enclosure_twin_at_scale() -> None:
    """10,000 enclosures × 3 treatments × 3 activities: no fan-out, every row summarised."""
    n = 10_000
    ids = [f"E{i:05d}" for i in range(n)]
    days = [date(2024, 3, 1), date(2024, 5, 1), date(2024, 7, 1)]
    parcels = trusted(PARCELS, *(parcel(e, 2024) for e in ids))
    treatments = trusted(
        TREATMENTS,
        *(treatment(e, 2024, d, f"P{i}", dose=1.0) for e in ids for i, d in enumerate(days)),
    )
    activities = trusted(
        ACTIVITIES, *(activity(e, d, f"T{i}") for e in ids for i, d in enumerate(days))
    )

    frame = digital_twin_enclosures(parcels, treatments, activities).collect()

    assert frame.height == n
    assert frame["enclosure_id"].to_list() == ids
    assert (frame["treatment_count"] == 3).all() and (frame["activity_count"] == 3).all()
    assert (frame["total_dose"] == 3.0).all()
    assert frame["activity_tasks"][0].to_list() == ["T0", "T1", "T2"]
    assert digital_twin_treatments(treatments).collect().height == 3 * n
    assert digital_twin_activities(activities).collect().height == 3 * n


# Timelines ----------------------------------------------------------------------------


def test_treatment_timeline_columns_and_order() -> None:
    frame = digital_twin_treatments(
        trusted(
            TREATMENTS,
            treatment("E2", 2024, date(2024, 4, 1), "A", dose=1.0),
            treatment("E1", 2024, date(2024, 5, 1), "B", dose=2.0, _ingest_id="ing-2"),
            treatment("E1", 2024, date(2024, 5, 1), "A", dose=3.0, dose_unit="l/ha"),
            treatment("E1", 2023, date(2023, 6, 1), "C", safety_period_days=21),
        )
    ).collect()
    assert frame.schema == pl.Schema(
        {
            "enclosure_id": pl.String,
            "year": pl.Int32,
            "date": pl.Date,
            "product": pl.String,
            "product_name": pl.String,
            "formulation": pl.String,
            "pest_effect": pl.String,
            "dose": pl.Float64,
            "dose_unit": pl.String,
            "quantity": pl.Float64,
            "treated_area_ha": pl.Float64,
            "safety_period_days": pl.Int32,
            "_ingest_id": pl.String,
        }
    )
    assert frame.select("enclosure_id", "date", "product").rows() == [
        ("E1", date(2023, 6, 1), "C"),
        ("E1", date(2024, 5, 1), "A"),
        ("E1", date(2024, 5, 1), "B"),
        ("E2", date(2024, 4, 1), "A"),
    ]
    assert frame["year"].to_list() == [2023, 2024, 2024, 2024]
    assert frame["_ingest_id"].to_list() == ["ing-1", "ing-1", "ing-2", "ing-1"]
    assert frame["safety_period_days"][0] == 21 and frame["dose_unit"][1] == "l/ha"


def test_activity_timeline_columns_and_order() -> None:
    frame = digital_twin_activities(
        trusted(
            ACTIVITIES,
            activity("E1", date(2024, 5, 1), "RIEGO", dose="25 m3/ha", parcel_name="La Viña"),
            activity("E1", date(2024, 5, 1), "ABONADO", product="NPK", dose="300 kg/ha"),
            activity("E0", date(2024, 6, 1), "PODA", task_name="Poda", _ingest_id="ing-2"),
        )
    ).collect()
    assert frame.schema == pl.Schema(
        {
            "enclosure_id": pl.String,
            "year": pl.Int32,
            "date": pl.Date,
            "task": pl.String,
            "task_name": pl.String,
            "product": pl.String,
            "dose": pl.String,
            "parcel_name": pl.String,
            "_ingest_id": pl.String,
        }
    )
    assert frame.select("enclosure_id", "task").rows() == [
        ("E0", "PODA"),
        ("E1", "ABONADO"),
        ("E1", "RIEGO"),
    ]
    assert frame["parcel_name"][2] == "La Viña" and frame["_ingest_id"][0] == "ing-2"


def test_keys_and_partitions() -> None:
    assert ENCLOSURES_KEY == ("enclosure_id", "year")
    assert TREATMENTS_KEY == ("enclosure_id", "date", "product")
    assert ACTIVITIES_KEY == ("enclosure_id", "date", "task")
    assert ENCLOSURES_PARTITION == TREATMENTS_PARTITION == ACTIVITIES_PARTITION == ("year",)
    from agrolake.datasets.builtin.lab_wine_quality import REFINED

    assert REFINED[0].key == REFINED[0].partition_by == ()


# ML wine quality ----------------------------------------------------------------------


def sample(quality: int, alcohol: float, **lineage: Any) -> dict[str, Any]:
    return {**dict.fromkeys(WINE_FEATURES, 1.0), "alcohol": alcohol, "quality": quality, **lineage}


def test_wine_rows_are_all_kept_in_file_then_row_order() -> None:
    wine = trusted(
        WINE,
        sample(6, 10.0, _ingest_id="ing-b", _row=1, _source="red.csv"),
        sample(5, 9.4, _ingest_id="ing-a", _row=1),
        sample(5, 9.4, _ingest_id="ing-a", _row=0),
        sample(5, 9.4, _ingest_id="ing-a", _row=2),  # an exact repeat of row 0: kept
        sample(7, 12.0, _ingest_id="ing-b", _row=0, _source="red.csv"),
    )
    frame = ml_wine_quality(wine).collect()
    assert frame.columns == [*WINE_FEATURES, "quality", "_ingest_id", "_source"]
    assert frame.schema["quality"] == pl.Int32 and frame.schema["pH"] == pl.Float64
    assert all(frame.schema[feature] == pl.Float64 for feature in WINE_FEATURES)
    assert frame.height == 5
    assert frame.select("_ingest_id", "quality", "alcohol").rows() == [
        ("ing-a", 5, 9.4),
        ("ing-a", 5, 9.4),
        ("ing-a", 5, 9.4),
        ("ing-b", 7, 12.0),
        ("ing-b", 6, 10.0),
    ]
    assert frame["_source"].to_list()[-2:] == ["red.csv", "red.csv"]


def test_wine_without_row_position_keeps_input_order_within_a_file() -> None:
    no_row = {name: dtype for name, dtype in WINE.items() if name != "_row"}
    wine = trusted(
        no_row,
        sample(3, 8.0, _ingest_id="ing-b"),
        sample(8, 13.0, _ingest_id="ing-a"),
        sample(4, 9.0, _ingest_id="ing-b"),
        sample(8, 13.0, _ingest_id="ing-a"),
    )
    frame = ml_wine_quality(wine).collect()
    assert frame["quality"].to_list() == [8, 8, 3, 4]
    assert frame.columns == [*WINE_FEATURES, "quality", "_ingest_id", "_source"]


# Weather and NDVI of the growing season ----------------------------------------------

WEATHER: dict[str, pl.DataType] = {
    "location_id": pl.String(),
    "date": pl.Date(),
    "year": pl.Int32(),
    "temperature_mean_c": pl.Float64(),
    "temperature_min_c": pl.Float64(),
    "temperature_max_c": pl.Float64(),
    "precipitation_mm": pl.Float64(),
    **LINEAGE,
}
NDVI: dict[str, pl.DataType] = {
    "enclosure_id": pl.String(),
    "date": pl.Date(),
    "year": pl.Int32(),
    "ndvi": pl.Float64(),
    **LINEAGE,
}


SEASON = Season()


def weather_day(location: str, day: date, **values: Any) -> dict[str, Any]:
    return {"location_id": location, "date": day, "year": day.year, **values}


def seasonal(
    parcels: list[dict[str, Any]],
    weather: list[dict[str, Any]] = [],  # noqa: B006 - never mutated
    ndvi: list[dict[str, Any]] = [],  # noqa: B006 - never mutated
    season: Season = SEASON,
) -> pl.DataFrame:
    return digital_twin_enclosures(
        trusted(PARCELS, *parcels),
        trusted(TREATMENTS),
        trusted(ACTIVITIES),
        trusted(WEATHER, *weather),
        trusted(NDVI, *ndvi),
        season=season,
    ).collect()


def test_season_weather_of_the_enclosures_municipality() -> None:
    here = {"province_id": 50, "municipality_id": 73}
    days = [
        weather_day("50-73", date(2024, 2, 28), temperature_min_c=-9.0, precipitation_mm=30.0),
        weather_day("50-73", date(2024, 3, 1), temperature_mean_c=8.0, temperature_min_c=-2.0,
                    temperature_max_c=14.0, precipitation_mm=1.5, _source="AEMET"),
        weather_day("50-73", date(2024, 6, 1), temperature_min_c=14.0, temperature_max_c=30.0,
                    precipitation_mm=0.0, _source="Open-Meteo"),
        weather_day("50-73", date(2024, 10, 31), temperature_mean_c=12.0,
                    temperature_min_c=-0.5, temperature_max_c=20.0, _source="AEMET"),
        weather_day("50-73", date(2024, 11, 1), temperature_min_c=-7.0, precipitation_mm=9.0),
        weather_day("50-73", date(2023, 6, 1), temperature_max_c=41.0, precipitation_mm=5.0),
        weather_day("50-74", date(2024, 6, 1), temperature_max_c=44.0, precipitation_mm=50.0),
        weather_day("50-73", date(2024, 7, 1)),  # a day the archive has not filled yet
    ]  # fmt: skip
    frame = seasonal([parcel("E1", 2024, **here), parcel("E1", 2023, **here)], days)
    this = row(frame, "E1", 2024)
    assert this["location_id"] == "50-73"
    assert this["season_weather_days"] == 3, "1 March to 31 October, days with values"
    assert this["season_precipitation_mm"] == 1.5
    # Daily means: 8.0 measured, (14 + 30) / 2 = 22.0 from the extremes, 12.0 measured.
    assert this["season_temperature_mean_c"] == pytest.approx((8.0 + 22.0 + 12.0) / 3)
    assert (this["season_temperature_min_c"], this["season_temperature_max_c"]) == (-2.0, 30.0)
    assert this["season_frost_days"] == 2
    assert this["season_weather_sources"] == ["AEMET", "Open-Meteo"]
    last_year = row(frame, "E1", 2023)
    assert last_year["season_weather_days"] == 1 and last_year["season_temperature_max_c"] == 41.0
    assert last_year["season_frost_days"] is None, "no minimum temperature: frost unknown"


def test_no_weather_gives_zero_days_and_unknown_values() -> None:
    frame = seasonal([parcel("E1", 2024, province_id=2, municipality_id=9)])
    this = row(frame, "E1", 2024)
    assert this["location_id"] == "2-9" and this["season_weather_days"] == 0
    assert this["season_precipitation_mm"] is None and this["season_frost_days"] is None
    assert this["season_weather_sources"] == [] and this["season_ndvi_observations"] == 0
    assert this["season_ndvi_mean"] is None and this["season_ndvi_max"] is None


def test_season_ndvi_of_the_enclosure() -> None:
    ndvi = [
        {"enclosure_id": "E1", "date": date(2024, 2, 20), "year": 2024, "ndvi": 0.9},
        {"enclosure_id": "E1", "date": date(2024, 4, 5), "year": 2024, "ndvi": 0.4},
        {"enclosure_id": "E1", "date": date(2024, 6, 5), "year": 2024, "ndvi": 0.7},
        {"enclosure_id": "E2", "date": date(2024, 6, 5), "year": 2024, "ndvi": 0.1},
    ]
    frame = seasonal([parcel("E1", 2024, province_id=2, municipality_id=9)], ndvi=ndvi)
    this = row(frame, "E1", 2024)
    assert this["season_ndvi_observations"] == 2
    assert this["season_ndvi_mean"] == pytest.approx(0.55) and this["season_ndvi_max"] == 0.7


def test_a_season_across_the_new_year_starts_the_year_before_the_harvest() -> None:
    here = {"province_id": 50, "municipality_id": 73}
    days = [
        weather_day("50-73", date(2023, 10, 31), precipitation_mm=100.0),
        weather_day("50-73", date(2023, 11, 1), precipitation_mm=1.0),
        weather_day("50-73", date(2024, 1, 15), precipitation_mm=2.0),
        weather_day("50-73", date(2024, 2, 28), precipitation_mm=4.0),
        weather_day("50-73", date(2024, 3, 1), precipitation_mm=8.0),
    ]
    winter = Season.parse("11-01", "02-28")
    assert winter.spans_new_year
    frame = seasonal([parcel("E1", 2024, **here)], days, season=winter)
    assert row(frame, "E1", 2024)["season_precipitation_mm"] == 7.0
    assert row(frame, "E1", 2024)["season_weather_days"] == 3


def test_season_bounds_are_settings() -> None:
    from agrolake.errors import ConfigError
    from agrolake.lake.settings import load_settings

    settings = load_settings(season_start="4-1", season_end="09-30")
    assert (settings.season_start, settings.season_end) == ("04-01", "09-30")
    season = Season.parse(settings.season_start, settings.season_end)
    assert season == Season((4, 1), (9, 30)) and not season.spans_new_year
    for bad in ("02-29", "13-01", "march"):
        with pytest.raises(ConfigError, match="AGROLAKE_SEASON_START"):
            load_settings(season_start=bad)
