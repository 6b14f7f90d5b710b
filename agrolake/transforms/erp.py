"""Raw → trusted cleaning of the ERP datasets: parcels, treatments and field activities.

The three tables join on ``enclosure_id``, the SIGPAC composite
``<province>-<municipality>-<aggregate>-<zone>-<polygon>-<parcel>-<enclosure>``
of integers without leading zeros ("44-4-0-0-34-134-1"). Parcels and
treatments build it from seven integer columns, activities rewrite the one
they carry into the same canonical form, so equal enclosures give equal
strings and the tables join.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from agrolake.transforms.by_value import ByValue
from agrolake.transforms.common import (
    DEFAULT_OPTIONS,
    CleanOptions,
    Field,
    clean_text,
    error_if,
    field_errors,
    finish,
    parse_int,
    raw_col,
    schema_for,
    text_col,
    typed,
    visible,
)

S, I32, F64, BOOL, DATE = pl.String(), pl.Int32(), pl.Float64(), pl.Boolean(), pl.Date()

ENCLOSURE_ID = "enclosure_id"
ENCLOSURE_KIND = "enclosure_id"
# Source columns of the seven SIGPAC parts, in the order of the composite id.
PARCEL_PARTS = (
    "Provincia Id", "Municipio Id", "Agregado", "Zona", "Poligono", "Parcela", "Recinto",
)  # fmt: skip
TREATMENT_PARTS = (
    "ParcelaProvinciaId", "ParcelaMunicipioId", "ParcelaAgregado", "ParcelaZona",
    "ParcelaPoligono", "Parcela", "ParcelaRecinto",
)  # fmt: skip
# Seven unsigned integers joined by dashes (ASCII digits: \d would take any script's).
ENCLOSURE_PATTERN = r"^[0-9]+(?:-[0-9]+){6}$"

# "TASK - PRODUCT - DOSE": separators are dashes after a blank, so the dashes of
# "NPK 15-15-15" stay in the product; an empty product leaves "RIEGO - - 25 m3/ha";
# the product is greedy, so the dose is the last part.
TASK_THREE_PARTS = r"^(?P<task>.*?)\s+-(?:\s+(?P<product>.*))?\s+-\s+(?P<dose>.*)$"
TASK_TWO_PARTS = r"^(?P<task>.*?)\s+-\s+(?P<product>.*)$"

PARCEL_FIELDS = (
    Field(ENCLOSURE_ID, S, required=True),
    Field("harvest_year", I32, "Cosecha", required=True, low=1990, high=2100),
    Field("province_id", I32, "Provincia Id", required=True),
    Field("municipality_id", I32, "Municipio Id", required=True),
    Field("aggregate", I32, "Agregado", required=True),
    Field("zone", I32, "Zona", required=True),
    Field("polygon", I32, "Poligono", required=True),
    Field("parcel", I32, "Parcela", required=True),
    Field("enclosure", I32, "Recinto", required=True),
    Field("place_name", S, "Paraje"),
    Field("pac_order", I32, "OrdenPAC"),
    Field("pac_suborder", I32, "SubOrdenPac"),
    Field("sigpac_area_ha", F64, "SuperficieSIGPAC", low=0),
    Field("crop_area_ha", F64, "SuperficieCultivo", low=0),
    Field("crop_id", S, "Cultivo Id"),
    Field("variety", S, "ParcelaVariedad Id"),
    Field("irrigation_system", S, "SistemaDeRiego"),
    Field("tenure_regime_id", S, "RegimenTenenciaId"),
    Field("plantation_year", I32, "AñoPlantacion", low=1900, high=2100),
    Field("tree_count", I32, "Nº Arboles", low=0),
    Field("planting_frame_h_m", F64, "Marcoplantacionh"),
    Field("planting_frame_v_m", F64, "Marcoplantacionv"),
    Field("sowing_density", F64, "Densidaddesiembra"),
    Field("atria_adv_asv", BOOL, "ATRIA / ADV / ASV"),
    Field("vulnerable_zone", BOOL, "ZonaVulnerable"),
    Field("specific_zone", BOOL, "ZonaEspecifica"),
    Field("parcel_use", S, "UsoParcela"),
    Field("advisory", BOOL, "Asesoramiento"),
    Field("slope_pct", F64, "Pendiente %", low=0, high=100),
    Field("uhc", S, "UHC"),
    Field("uhc_description", S, "Descripción UHC"),
    Field("zepa_zone", BOOL, "Zona Zepa"),
    Field("sie_zone", BOOL, "Zona SIE"),
    Field("producer_nif", S, "ProductorNIF", personal=True),
)

TREATMENT_FIELDS = (
    Field(ENCLOSURE_ID, S, required=True),
    Field("harvest_year", I32, "MovimientoCosecha", required=True),
    Field("treatment_date", DATE, "MovimientoFechaDeInicio", required=True),
    Field("product", S, "Producto", required=True),
    Field("product_name", S, "ProductoNombre"),
    Field("formulation", S, "Formulado"),
    Field("pest_effect_id", S, "TratamientosPlagaEfectosEnPlagasId"),
    Field("pest_effect", S, "EfectosEnPlagas"),
    Field("weed_id", S, "TratamientosPlagaMalasHierbasId"),
    Field("place_name", S, "ParcelaParaje"),
    Field("pac_crop_code", S, "ParcelaCosechaCodigoPAC"),
    Field("pac_crop", S, "ParcelaCosechaCultivoPAC"),
    Field("broth_l_ha", F64, "Caldo"),
    Field("dose_type_id", S, "TipoDeDosisId"),
    Field("dose_unit", S, "TipoDeDosisDetalle"),
    Field("treated_area_ha", F64, "MovimientoParcelaSuperficieTratada", low=0),
    Field("quantity", F64, "Cantidad", low=0),
    Field("safety_period_days", I32, "MovimientoPlazoDeSeguridad"),
    Field("dose", F64, "MovimientoDosis", low=0),
    # Areas are areas on this sheet too: the same bound as on Parcelas.
    Field("crop_area_ha", F64, "ParcelaSuperficieCultivo", low=0),
    Field("sigpac_area_ha", F64, "ParcelaSuperficieSIGPAC", low=0),
    Field("vulnerable_zone", BOOL, "ParcelaZonaVulnerable"),
    Field("parcel_use_id", S, "UsoDeParcelasId"),
    Field("applicator_name", S, "SecUserNombre", personal=True),
    Field("applicator_nif", S, "SecUserNIF", personal=True),
    Field("applicator_id", S, "SecUserId", personal=True),
)


def parse_enclosure_id(text: pl.Expr) -> pl.Expr:
    """A composite SIGPAC id in canonical form: "044 - 4-0-0-34-134-01" → "44-4-0-0-34-134-1".

    String rewrites rather than capture groups and casts: this runs on every
    row of the largest files, and a struct of seven groups costs seven regex
    passes once polars splits it into columns.
    """
    compact = text.str.replace_all(r"\s*-\s*", "-")
    unpadded = compact.str.replace_all(r"(^|-)0+([0-9])", "${1}${2}")
    return pl.when(compact.str.contains(ENCLOSURE_PATTERN)).then(unpadded)


def join_enclosure(parts: Sequence[pl.Expr]) -> pl.Expr:
    """The composite id of seven integer parts; null unless all are there and ≥ 0.

    Negative parts are refused: their minus sign would read as a separator.
    """
    complete = pl.all_horizontal(p >= 0 for p in parts)
    return pl.when(complete).then(pl.concat_str([p.cast(pl.String) for p in parts], separator="-"))


ACTIVITY_FIELDS = (
    Field("activity_date", DATE, "FECHA", required=True),
    Field("year", I32, required=True),
    Field("task", S, "TAREA-PRODUCTO-DOSIS", required=True),
    Field("task_name", S),
    Field("product", S),
    Field("dose", S),
    Field("parcel_name", S, "PARCELA"),
    Field(
        ENCLOSURE_ID,
        S,
        "RECINTO ID",
        required=True,
        parser=parse_enclosure_id,
        kind=ENCLOSURE_KIND,
    ),
)

# Every activity column is cleaned from one raw column alone: the year from the
# date, the task's parts from the task. Pinned by the by-value tests.
ACTIVITIES_BY_VALUE = ByValue(
    {
        "FECHA": ("activity_date", "year"),
        "TAREA-PRODUCTO-DOSIS": ("task", "task_name", "product", "dose"),
        "PARCELA": ("parcel_name",),
        "RECINTO ID": (ENCLOSURE_ID,),
    }
)

PARCELS_SCHEMA = schema_for("erp.parcels", PARCEL_FIELDS)
TREATMENTS_SCHEMA = schema_for("erp.treatments", TREATMENT_FIELDS)
ACTIVITIES_SCHEMA = schema_for("erp.activities", ACTIVITY_FIELDS)


def enclosure_from_parts(sources: Sequence[str]) -> pl.Expr:
    """``enclosure_id`` from the seven part columns (cleaned text, after ``typed``)."""
    return join_enclosure([parse_int(text_col(s)) for s in sources]).alias(ENCLOSURE_ID)


def enclosure_errors(sources: Sequence[str]) -> list[pl.Expr]:
    """not_null when a part is missing, type:enclosure_id when the parts make no id.

    The value shows the parts as read, joined like the id ("44--0-0-34-134-1"),
    so the quarantine tells which part is wrong without the part columns.
    """
    shown = pl.concat_str(
        [raw_col(s).str.strip_chars().fill_null("") for s in sources], separator="-"
    )
    missing = pl.any_horizontal(text_col(s).is_null() for s in sources)
    invalid = ~missing & pl.col(ENCLOSURE_ID).is_null()
    return [
        error_if(missing, ENCLOSURE_ID, "not_null", shown),
        error_if(invalid, ENCLOSURE_ID, f"type:{ENCLOSURE_KIND}", shown),
    ]


def _clean_with_parts(
    raw: pl.LazyFrame, fields: Sequence[Field], parts: Sequence[str]
) -> pl.LazyFrame:
    lf = typed(raw, fields, parts).with_columns(enclosure_from_parts(parts))
    errors = [*enclosure_errors(parts), *(e for f in fields for e in field_errors(f))]
    return finish(lf, fields, errors)


def clean_parcels(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """Sheet Parcelas (all text) → erp.parcels rows with ``_errors``."""
    return _clean_with_parts(raw, visible(PARCEL_FIELDS, options), PARCEL_PARTS)


def clean_treatments(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """Sheet Tratamientos (all text) → erp.treatments rows with ``_errors``."""
    return _clean_with_parts(raw, visible(TREATMENT_FIELDS, options), TREATMENT_PARTS)


def with_task_parts(lf: pl.LazyFrame, task: str = "task") -> pl.LazyFrame:
    """``lf`` with task_name, product and dose split from its cleaned "TASK - PRODUCT - DOSE".

    A task alone ("PODA") is its own name; two parts are a task and a product.
    Empty parts are null. Each pattern is matched once into a column and then
    read, so the regexes run once per row, not once per part.
    """
    three, two = "__task:three", "__task:two"
    lf = lf.with_columns(
        pl.col(task).str.extract_groups(TASK_THREE_PARTS).alias(three),
        pl.col(task).str.extract_groups(TASK_TWO_PARTS).alias(two),
    )
    part3, part2 = pl.col(three).struct.field, pl.col(two).struct.field
    is_three = part3("task").is_not_null()
    name = pl.coalesce(part3("task"), part2("task"), pl.col(task))
    product = pl.when(is_three).then(part3("product")).otherwise(part2("product"))
    return lf.with_columns(
        clean_text(name).alias("task_name"),
        clean_text(product).alias("product"),
        clean_text(part3("dose")).alias("dose"),
    ).drop(three, two)


def clean_activities(raw: pl.LazyFrame, options: CleanOptions = DEFAULT_OPTIONS) -> pl.LazyFrame:
    """PYSTACIL activities (all text) → erp.activities rows with ``_errors``.

    ``year`` (the partition column) is the year of ``activity_date``; it is
    null exactly when the date is, which already carries an error.
    """
    fields = visible(ACTIVITY_FIELDS, options)
    lf = typed(raw, fields).with_columns(
        pl.col("activity_date").dt.year().cast(pl.Int32).alias("year")
    )
    lf = with_task_parts(lf)
    return finish(lf, fields, [e for f in fields for e in field_errors(f)])
