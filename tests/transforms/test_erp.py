"""Tests for the raw → trusted ERP transforms, on real sample files from agrolake.samples."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from agrolake.datasets.model import CleanOptions
from agrolake.samples import write_activities, write_parcels_and_treatments
from agrolake.transforms.row_errors import ERRORS_DTYPE, quarantined_rows, valid_rows
from tests.builtin import (
    ACTIVITIES_SCHEMA,
    PARCELS_SCHEMA,
    TREATMENTS_SCHEMA,
    clean_activities,
    clean_parcels,
    clean_treatments,
)

SEED = 11
ROWS = 60
Clean = Callable[..., pl.LazyFrame]

S, I32, F64, B, D = pl.String(), pl.Int32(), pl.Float64(), pl.Boolean(), pl.Date()
PARCELS: dict[str, pl.DataType] = {
    "enclosure_id": S, "harvest_year": I32, "province_id": I32, "municipality_id": I32,
    "aggregate": I32, "zone": I32, "polygon": I32, "parcel": I32, "enclosure": I32,
    "place_name": S, "pac_order": I32, "pac_suborder": I32, "sigpac_area_ha": F64,
    "crop_area_ha": F64, "crop_id": S, "variety": S, "irrigation_system": S,
    "tenure_regime_id": S, "plantation_year": I32, "tree_count": I32,
    "planting_frame_h_m": F64, "planting_frame_v_m": F64, "sowing_density": F64,
    "atria_adv_asv": B, "vulnerable_zone": B, "specific_zone": B, "parcel_use": S,
    "advisory": B, "slope_pct": F64, "uhc": S, "uhc_description": S, "zepa_zone": B,
    "sie_zone": B,
}  # fmt: skip
TREATMENTS: dict[str, pl.DataType] = {
    "enclosure_id": S, "harvest_year": I32, "treatment_date": D, "product": S,
    "product_name": S, "formulation": S, "pest_effect_id": S, "pest_effect": S, "weed_id": S,
    "place_name": S, "pac_crop_code": S, "pac_crop": S, "broth_l_ha": F64, "dose_type_id": S,
    "dose_unit": S, "treated_area_ha": F64, "quantity": F64, "safety_period_days": I32,
    "dose": F64, "crop_area_ha": F64, "sigpac_area_ha": F64, "vulnerable_zone": B,
    "parcel_use_id": S,
}  # fmt: skip
ACTIVITIES: dict[str, pl.DataType] = {
    "activity_date": D, "year": I32, "task": S, "task_name": S, "product": S, "dose": S,
    "parcel_name": S, "enclosure_id": S,
}  # fmt: skip
PERSONAL = {
    "parcels": {"producer_nif": "ProductorNIF"},
    "treatments": {
        "applicator_name": "SecUserNombre",
        "applicator_nif": "SecUserNIF",
        "applicator_id": "SecUserId",
    },
}
# A numeric column of each table, to break a row with.
BREAKABLE = {"parcels": "Cosecha", "treatments": "Cantidad", "activities": "FECHA"}
ENCLOSURE_ID = re.compile(r"^(0|[1-9]\d*)(-(0|[1-9]\d*)){6}$")


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parcels_and_treatments(
        tmp_path_factory.mktemp("erp") / "recintos.xlsx", rows=ROWS, seed=SEED
    )


@pytest.fixture(scope="module")
def parcels_raw(workbook: Path) -> pl.DataFrame:
    return pl.read_excel(workbook, sheet_name="Parcelas", infer_schema_length=0)


@pytest.fixture(scope="module")
def treatments_raw(workbook: Path) -> pl.DataFrame:
    return pl.read_excel(workbook, sheet_name="Tratamientos", infer_schema_length=0)


@pytest.fixture(scope="module")
def activities_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_activities(tmp_path_factory.mktemp("act") / "tareas.csv", rows=80, seed=SEED)


@pytest.fixture(scope="module")
def activities_raw(activities_csv: Path) -> pl.DataFrame:
    return pl.read_csv(activities_csv, infer_schema=False)


def clean(fn: Clean, raw: pl.DataFrame, **options: Any) -> pl.DataFrame:
    return fn(raw.lazy(), CleanOptions(**options)).collect()


def set_cells(raw: pl.DataFrame, column: str, values: Mapping[int, str | None]) -> pl.DataFrame:
    """``raw`` with the cells of ``column`` at the given row positions replaced."""
    expr = pl.col(column)
    for row, value in values.items():
        expr = pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, pl.String)).otherwise(expr)
    return raw.with_columns(expr.alias(column))


def errors(out: pl.DataFrame, row: int) -> list[dict[str, str]]:
    return list(out["_errors"][row])


def activities_frame(**columns: Sequence[str | None]) -> pl.DataFrame:
    """An activities raw frame: one valid row per value, the given columns overridden."""
    n = len(next(iter(columns.values())))
    base: dict[str, Sequence[str | None]] = {
        "FECHA": ["05/02/2023"] * n,
        "TAREA-PRODUCTO-DOSIS": ["PODA"] * n,
        "PARCELA": ["LA VAL 68"] * n,
        "RECINTO ID": ["44-8-0-0-1-68-1"] * n,
    }
    return pl.DataFrame(base | columns, schema=dict.fromkeys(base, pl.String))


def assert_streams(lf: pl.LazyFrame) -> None:
    """Every node of the streaming plan streams: no in-memory fallback, no Python, no sort."""
    graph = lf.show_graph(engine="streaming", plan_stage="physical", raw_output=True, show=False)
    assert graph is not None
    assert "python_udf" not in graph
    fallback = re.findall(r'label="([^"\\]*)[^\n]*fillcolor="0\.0 0\.3 1\.0"', graph)
    heavy = re.findall(r'label="([^"\\]*)[^\n]*fillcolor="0\.16 0\.3 1\.0"', graph)
    assert fallback == []
    # Only the source may hold data; a sort, group or join would show up here.
    assert all(label.endswith("source") for label in heavy), heavy


# --- types and schemas -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "fixture", "expected", "schema", "rows"),
    [
        (clean_parcels, "parcels_raw", PARCELS, PARCELS_SCHEMA, ROWS),
        (clean_treatments, "treatments_raw", TREATMENTS, TREATMENTS_SCHEMA, None),
        (clean_activities, "activities_raw", ACTIVITIES, ACTIVITIES_SCHEMA, 80),
    ],
    ids=["parcels", "treatments", "activities"],
)
def test_samples_give_every_trusted_column_typed_and_valid(
    request: pytest.FixtureRequest,
    fn: Clean,
    fixture: str,
    expected: dict[str, pl.DataType],
    schema: Any,
    rows: int | None,
) -> None:
    raw: pl.DataFrame = request.getfixturevalue(fixture)
    lf = fn(raw.lazy())
    assert dict(lf.collect_schema()) == expected | {"_errors": ERRORS_DTYPE}
    schema.validate(lf)  # schema-level on the LazyFrame
    out = lf.collect()
    assert out.height == (rows or raw.height)
    # The generators write clean data (missing values only in optional columns).
    assert out["_errors"].list.len().sum() == 0
    # Data-level checks (nullability, ranges) on the collected valid rows.
    schema.validate(valid_rows(lf).collect())


def test_parcel_values_are_the_raw_values_typed(parcels_raw: pl.DataFrame) -> None:
    out = clean(clean_parcels, parcels_raw)
    raw = parcels_raw
    assert out["harvest_year"].to_list() == raw["Cosecha"].cast(pl.Int32).to_list()
    assert out["sigpac_area_ha"].to_list() == raw["SuperficieSIGPAC"].cast(pl.Float64).to_list()
    assert out["tree_count"].to_list() == raw["Nº Arboles"].cast(pl.Int32).to_list()
    parts = ["Provincia Id", "Municipio Id", "Agregado", "Zona", "Poligono", "Parcela", "Recinto"]
    composite = raw.select(pl.concat_str(parts, separator="-"))
    assert out["enclosure_id"].to_list() == composite.to_series().to_list()
    assert all(ENCLOSURE_ID.match(e) for e in out["enclosure_id"])


def test_null_markers_become_null_without_errors(parcels_raw: pl.DataFrame) -> None:
    raw_place = parcels_raw["Paraje"]
    markers = raw_place.is_null() | raw_place.str.strip_chars().str.to_uppercase().is_in(
        ["NP", "NULL"]
    )
    assert markers.sum() > 0 and (~markers).sum() > 0  # the sample has both kinds
    out = clean(clean_parcels, parcels_raw)
    assert out["place_name"].is_null().to_list() == markers.to_list()

    variants = {0: " np ", 1: "Null", 2: "nan", 3: "", 4: "   ", 5: "NULL"}
    out = clean(clean_parcels, set_cells(parcels_raw, "Pendiente %", variants))
    assert out["slope_pct"][:6].is_null().all()
    assert out["_errors"][:6].list.len().sum() == 0


def test_s_n_answers_become_booleans(parcels_raw: pl.DataFrame) -> None:
    out = clean(clean_parcels, parcels_raw)
    raw = parcels_raw["ATRIA / ADV / ASV"]
    for answer, flag in (("S", True), ("N", False)):
        chosen = raw == answer
        picked = out.filter(chosen)["atria_adv_asv"]
        assert picked.len() > 0 and picked.to_list() == [flag] * picked.len()

    variants = ["Sí", "si", "SI", " s ", "no", "NO", "n", "X"]
    edited = set_cells(parcels_raw, "Zona Zepa", dict(enumerate(variants)))
    out = clean(clean_parcels, edited)
    assert out["zepa_zone"][:8].to_list() == [True, True, True, True, False, False, False, None]
    assert errors(out, 7) == [{"column": "zepa_zone", "check": "type:boolean", "value": "X"}]


def test_decimal_comma_reads_like_a_decimal_point(parcels_raw: pl.DataFrame) -> None:
    columns = ["SuperficieSIGPAC", "SuperficieCultivo", "Pendiente %", "Marcoplantacionv"]
    comma = parcels_raw.with_columns(pl.col(c).str.replace(".", ",", literal=True) for c in columns)
    assert comma["SuperficieSIGPAC"].str.contains(",", literal=True).sum() > ROWS / 2
    assert_frame_equal(clean(clean_parcels, comma), clean(clean_parcels, parcels_raw))


def test_a_bad_number_quarantines_its_row_only(parcels_raw: pl.DataFrame) -> None:
    bad = set_cells(parcels_raw, "SuperficieSIGPAC", {5: "12,5 ha"}).with_row_index("_row")
    cleaned = clean_parcels(bad.lazy())
    out = cleaned.collect()
    assert errors(out, 5) == [
        {"column": "sigpac_area_ha", "check": "type:float64", "value": "12,5 ha"}
    ]
    assert out["sigpac_area_ha"][5] is None
    valid = valid_rows(cleaned).collect()
    assert valid.height == ROWS - 1 and 5 not in valid["_row"].to_list()
    assert "_errors" not in valid.columns

    quarantine = quarantined_rows(cleaned, "trusted.erp_parcels").collect()
    assert quarantine.columns == ["table", "row_index", "column", "check", "value", "row_json"]
    assert quarantine.schema["row_index"] == pl.Int64()
    row = quarantine.row(0, named=True)
    assert quarantine.height == 1
    assert (row["table"], row["row_index"], row["column"], row["check"], row["value"]) == (
        "trusted.erp_parcels", 5, "sigpac_area_ha", "type:float64", "12,5 ha",
    )  # fmt: skip
    cleaned_row = json.loads(row["row_json"])
    assert cleaned_row["sigpac_area_ha"] is None
    assert cleaned_row["enclosure_id"] == out["enclosure_id"][5]
    assert set(cleaned_row) == set(PARCELS)


def test_a_row_with_several_problems_lists_them_all(parcels_raw: pl.DataFrame) -> None:
    bad = set_cells(parcels_raw, "Pendiente %", {3: "150"})
    bad = set_cells(bad, "Cosecha", {3: "1985"})
    bad = set_cells(bad, "Nº Arboles", {3: "-3"})
    bad = set_cells(bad, "AñoPlantacion", {3: "2003.5"}).with_row_index("_row")
    out = clean(clean_parcels, bad)
    assert sorted(errors(out, 3), key=lambda e: e["column"]) == [
        {"column": "harvest_year", "check": "range:1990..2100", "value": "1985"},
        {"column": "plantation_year", "check": "type:int32", "value": "2003.5"},
        {"column": "slope_pct", "check": "range:0..100", "value": "150"},
        {"column": "tree_count", "check": "range:0..", "value": "-3"},
    ]
    # Out-of-range values stay typed (they are readable), only the type failure is null.
    assert (out["harvest_year"][3], out["plantation_year"][3]) == (1985, None)
    quarantine = quarantined_rows(out.lazy(), "p").collect()
    assert quarantine.height == 4 and set(quarantine["row_index"]) == {3}


def test_whole_floats_are_integers(parcels_raw: pl.DataFrame) -> None:
    out = clean(clean_parcels, set_cells(parcels_raw, "Cosecha", {0: "2023.0", 1: "2023,0"}))
    assert out["harvest_year"][:2].to_list() == [2023, 2023]
    assert out["_errors"][:2].list.len().sum() == 0


def test_a_missing_key_id_is_a_not_null_error(parcels_raw: pl.DataFrame) -> None:
    bad = set_cells(parcels_raw, "Provincia Id", {2: "NP"})
    bad = set_cells(bad, "Recinto", {4: None})
    out = clean(clean_parcels, bad)
    r2, r4 = parcels_raw.row(2, named=True), parcels_raw.row(4, named=True)
    rest2 = "-".join(r2[c] for c in ("Municipio Id", "Agregado", "Zona", "Poligono", "Parcela"))
    assert errors(out, 2) == [
        {"column": "enclosure_id", "check": "not_null", "value": f"NP-{rest2}-{r2['Recinto']}"},
        {"column": "province_id", "check": "not_null", "value": "NP"},
    ]
    assert errors(out, 4)[1] == {"column": "enclosure", "check": "not_null", "value": ""}
    assert errors(out, 4)[0]["value"].endswith(f"-{r4['Parcela']}-")
    assert out["enclosure_id"][2] is None and out["enclosure_id"][4] is None
    assert valid_rows(out.lazy()).collect().height == ROWS - 2


def test_missing_optional_columns_come_out_null(parcels_raw: pl.DataFrame) -> None:
    out = clean(clean_parcels, parcels_raw.drop("Paraje", "Zona SIE", "Nº Arboles"))
    assert dict(out.schema) == PARCELS | {"_errors": ERRORS_DTYPE}
    assert out["place_name"].is_null().all() and out["tree_count"].is_null().all()
    assert out["_errors"].list.len().sum() == 0


def test_headers_match_whatever_their_spacing_quotes_or_case(parcels_raw: pl.DataFrame) -> None:
    messy = parcels_raw.rename({c: f' "{c.upper()}"  ' for c in parcels_raw.columns})
    messy = messy.rename({' "PROVINCIA ID"  ': "provincia   id"})
    assert_frame_equal(clean(clean_parcels, messy), clean(clean_parcels, parcels_raw))


# --- treatments ------------------------------------------------------------------------


def test_treatments_join_their_parcels(
    parcels_raw: pl.DataFrame, treatments_raw: pl.DataFrame
) -> None:
    parcels = clean(clean_parcels, parcels_raw)
    treatments = clean(clean_treatments, treatments_raw)
    assert treatments.height > ROWS  # one to four per parcel
    keys = ["enclosure_id", "harvest_year"]
    orphans = treatments.join(parcels, on=keys, how="anti")
    assert orphans.height == 0
    assert treatments.select(keys).unique().height == parcels.height  # every parcel treated


def test_workbook_dates_become_dates(treatments_raw: pl.DataFrame) -> None:
    raw_dates = treatments_raw["MovimientoFechaDeInicio"]
    assert raw_dates.str.ends_with(" 00:00:00").all()  # what fastexcel gives for date cells
    out = clean(clean_treatments, treatments_raw)
    assert out["treatment_date"].to_list() == raw_dates.str.slice(0, 10).str.to_date().to_list()
    assert (out["treatment_date"].dt.year() == out["harvest_year"]).all()
    # "NP" (no safety period) is a null, not a type error.
    no_period = out.filter(treatments_raw["MovimientoPlazoDeSeguridad"] == "NP")
    assert no_period.height > 0 and no_period["safety_period_days"].is_null().all()
    assert no_period["_errors"].list.len().sum() == 0


def test_treatment_enclosure_parts_that_make_no_id(treatments_raw: pl.DataFrame) -> None:
    bad = set_cells(treatments_raw, "ParcelaPoligono", {0: "-3", 1: "abc"})
    bad = set_cells(bad, "ParcelaZona", {2: "NULL"})
    out = clean(clean_treatments, bad)
    parts = ["ParcelaProvinciaId", "ParcelaMunicipioId", "ParcelaAgregado", "ParcelaZona",
             "ParcelaPoligono", "Parcela", "ParcelaRecinto"]  # fmt: skip
    shown = bad.select(pl.concat_str(parts, separator="-")).to_series()
    for row in (0, 1):
        assert errors(out, row) == [
            {"column": "enclosure_id", "check": "type:enclosure_id", "value": shown[row]}
        ]
    assert "--3-" in shown[0] and "-abc-" in shown[1]
    assert [(e["column"], e["check"]) for e in errors(out, 2)] == [("enclosure_id", "not_null")]
    assert "-NULL-" in errors(out, 2)[0]["value"]
    assert out["enclosure_id"][:3].is_null().all()


# --- personal data ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "fixture", "table"),
    [(clean_parcels, "parcels_raw", "parcels"), (clean_treatments, "treatments_raw", "treatments")],
    ids=["parcels", "treatments"],
)
def test_personal_data_only_on_request(
    request: pytest.FixtureRequest, fn: Clean, fixture: str, table: str
) -> None:
    raw: pl.DataFrame = request.getfixturevalue(fixture)
    personal = PERSONAL[table]
    # A broken row: its quarantine record must not leak the personal data either.
    broken = set_cells(raw, BREAKABLE[table], {0: "???"})
    default = fn(broken.lazy())
    assert not set(personal) & set(default.collect_schema().names())
    quarantine = quarantined_rows(default, table).collect()
    assert quarantine.height >= 1
    secrets = {v for source in personal.values() for v in raw[source].drop_nulls()}
    assert not any(s in text for s in secrets for text in quarantine["row_json"])

    with_personal = clean(fn, raw, include_personal_data=True)
    for column, source in personal.items():
        assert with_personal.schema[column] == pl.String()
        assert with_personal[column].to_list() == raw[source].str.strip_chars().to_list()
    schema = PARCELS_SCHEMA if table == "parcels" else TREATMENTS_SCHEMA
    schema.validate(with_personal)


# --- activities --------------------------------------------------------------------------


def test_activities_join_parcels_of_the_same_seed(
    parcels_raw: pl.DataFrame, activities_raw: pl.DataFrame
) -> None:
    parcels = clean(clean_parcels, parcels_raw)
    activities = clean(clean_activities, activities_raw)
    assert activities["enclosure_id"].n_unique() > 5
    assert activities.join(parcels, on="enclosure_id", how="anti").height == 0


def test_activities_from_csv_and_workbook_are_equal(
    activities_raw: pl.DataFrame, tmp_path: Path
) -> None:
    xlsx = write_activities(tmp_path / "tareas.xlsx", rows=80, seed=SEED)
    from_xlsx = pl.read_excel(xlsx, sheet_name="Hoja1", infer_schema_length=0)
    assert_frame_equal(clean(clean_activities, from_xlsx), clean(clean_activities, activities_raw))


def test_activity_tasks_split_into_name_product_and_dose(activities_raw: pl.DataFrame) -> None:
    out = clean(clean_activities, activities_raw)
    with_dose = out.filter(pl.col("dose").is_not_null())
    assert with_dose.height > 0
    rebuilt = pl.concat_str(
        "task_name", pl.lit(" - "), pl.col("product").fill_null(""), pl.lit(" - "), "dose"
    ).str.replace("  ", " ", literal=True)
    assert (with_dose["task"] == with_dose.select(rebuilt).to_series()).all()
    no_dose = out.filter(pl.col("dose").is_null())
    assert no_dose.height > 0 and (no_dose["task"] == no_dose["task_name"]).all()

    raw = activities_frame(
        **{
            "TAREA-PRODUCTO-DOSIS": [
                " ABONADO - NPK 15-15-15 - 300 kg/ha ",
                "RIEGO - - 25 m3/ha",
                "PODA",
                "TRATAMIENTO - CAPTAN 80 WG",
                "NP",
            ]
        }
    )
    out = clean(clean_activities, raw)
    assert out.select("task", "task_name", "product", "dose").rows() == [
        ("ABONADO - NPK 15-15-15 - 300 kg/ha", "ABONADO", "NPK 15-15-15", "300 kg/ha"),
        ("RIEGO - - 25 m3/ha", "RIEGO", None, "25 m3/ha"),
        ("PODA", "PODA", None, None),
        ("TRATAMIENTO - CAPTAN 80 WG", "TRATAMIENTO", "CAPTAN 80 WG", None),
        (None, None, None, None),
    ]
    assert errors(out, 4) == [{"column": "task", "check": "not_null", "value": "NP"}]


def test_activity_dates_in_every_form(activities_raw: pl.DataFrame) -> None:
    forms = ["06/01/2021", "2021-01-06", "2021-01-06 00:00:00", "6/1/2021", "31/02/2021", ""]
    out = clean(clean_activities, activities_frame(FECHA=forms))
    assert out["activity_date"].to_list() == [date(2021, 1, 6)] * 4 + [None, None]
    assert out["year"].to_list() == [2021] * 4 + [None, None]
    assert errors(out, 4) == [
        {"column": "activity_date", "check": "type:date", "value": "31/02/2021"}
    ]
    assert errors(out, 5) == [{"column": "activity_date", "check": "not_null", "value": ""}]
    sample = clean(clean_activities, activities_raw)
    expected = activities_raw["FECHA"].str.to_date("%d/%m/%Y")
    assert sample["activity_date"].to_list() == expected.to_list()
    assert (sample["year"] == expected.dt.year()).all()


def test_activity_enclosure_ids_are_normalised() -> None:
    ids = [" 44-04-0-0-034-134-01 ", "44 - 4 - 0 - 0 - 34 - 134 - 1", "44-4-0-0-34-134", "x", None]
    out = clean(clean_activities, activities_frame(**{"RECINTO ID": ids}))
    assert out["enclosure_id"].to_list() == ["44-4-0-0-34-134-1"] * 2 + [None] * 3
    assert errors(out, 2) == [
        {"column": "enclosure_id", "check": "type:enclosure_id", "value": "44-4-0-0-34-134"}
    ]
    assert errors(out, 3)[0]["check"] == "type:enclosure_id"
    assert errors(out, 4) == [{"column": "enclosure_id", "check": "not_null", "value": ""}]


# --- streaming and batches ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "table"),
    [
        (clean_parcels, "parcels"),
        (clean_treatments, "treatments"),
        (clean_activities, "activities"),
    ],
    ids=["parcels", "treatments", "activities"],
)
def test_streaming_engine_gives_the_same_rows(
    request: pytest.FixtureRequest, fn: Clean, table: str
) -> None:
    raw: pl.DataFrame = request.getfixturevalue(f"{table}_raw")
    # One bad row so the quarantine path has something to explode.
    raw = set_cells(raw, BREAKABLE[table], {1: "??"}).with_row_index("_row")
    cleaned = fn(raw.lazy(), CleanOptions(include_personal_data=True))
    for lf in (cleaned, valid_rows(cleaned), quarantined_rows(cleaned, "t")):
        assert_streams(lf)
        assert_frame_equal(lf.collect(engine="streaming"), lf.collect())
    assert quarantined_rows(cleaned, "t").collect()["row_index"].to_list()[0] == 1


def test_a_scanned_csv_streams_end_to_end(activities_csv: Path) -> None:
    scanned = pl.scan_csv(activities_csv, infer_schema=False).with_row_index("_row")
    cleaned = clean_activities(scanned)
    assert_streams(quarantined_rows(cleaned, "t"))
    assert_streams(valid_rows(cleaned))
    out = cleaned.collect(engine="streaming")
    assert out["_row"].to_list() == list(range(80))


def test_batches_clean_independently(treatments_raw: pl.DataFrame) -> None:
    last = treatments_raw.height - 2
    raw = set_cells(treatments_raw, "Cantidad", {3: "x", last: "-1"}).with_row_index("_row")
    whole = clean_treatments(raw.lazy()).collect()
    batches = [
        clean_treatments(raw.slice(i, 37).lazy()).collect() for i in range(0, raw.height, 37)
    ]
    assert len(batches) > 2
    assert_frame_equal(pl.concat(batches), whole)
    assert whole.filter(pl.col("_errors").list.len() > 0)["_row"].to_list() == [3, last]
