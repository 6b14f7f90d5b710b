"""The 7eData ERP workbook: parcels (enclosures) and their plant protection treatments.

Both sheets carry the enclosure as seven SIGPAC part columns; ``enclosure_id``
is their canonical composite (``agrolake.transforms.sigpac``), so parcels,
treatments and activities join on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from agrolake.datasets.cleaning import field_errors, finish, raw_col, text_col, typed, visible
from agrolake.datasets.model import (
    Checks,
    CleanOptions,
    CustomCleaning,
    Dataset,
    Field,
    Files,
    Table,
)
from agrolake.transforms.parsers import parse_int
from agrolake.transforms.row_errors import error_if
from agrolake.transforms.sigpac import join_enclosure

ENCLOSURE_ID = "enclosure_id"
# Source columns of the seven SIGPAC parts, in the order of the composite id.
PARCEL_PARTS = (
    "Provincia Id", "Municipio Id", "Agregado", "Zona", "Poligono", "Parcela", "Recinto",
)  # fmt: skip
TREATMENT_PARTS = (
    "ParcelaProvinciaId", "ParcelaMunicipioId", "ParcelaAgregado", "ParcelaZona",
    "ParcelaPoligono", "Parcela", "ParcelaRecinto",
)  # fmt: skip
AREA = Checks(min=0)


def _f(name: str, type_: str, source: str | None = None, **options: object) -> Field:
    """A field, written as compactly as the tables of an export's documentation."""
    return Field.model_validate({"name": name, "type": type_, "source": source, **options})


PARCEL_FIELDS = (
    _f(ENCLOSURE_ID, "string", required=True, description="SIGPAC composite of the parts"),
    _f("harvest_year", "int32", "Cosecha", required=True, checks=Checks(min=1990, max=2100)),
    _f("province_id", "int32", "Provincia Id", required=True),
    _f("municipality_id", "int32", "Municipio Id", required=True),
    _f("aggregate", "int32", "Agregado", required=True),
    _f("zone", "int32", "Zona", required=True),
    _f("polygon", "int32", "Poligono", required=True),
    _f("parcel", "int32", "Parcela", required=True),
    _f("enclosure", "int32", "Recinto", required=True),
    _f("place_name", "string", "Paraje", optional=True),
    _f("pac_order", "int32", "OrdenPAC", optional=True),
    _f("pac_suborder", "int32", "SubOrdenPac", optional=True),
    _f("sigpac_area_ha", "float", "SuperficieSIGPAC", checks=AREA),
    _f("crop_area_ha", "float", "SuperficieCultivo", checks=AREA),
    _f("crop_id", "string", "Cultivo Id"),
    _f("variety", "string", "ParcelaVariedad Id", optional=True),
    _f("irrigation_system", "string", "SistemaDeRiego", optional=True),
    _f("tenure_regime_id", "string", "RegimenTenenciaId", optional=True),
    _f("plantation_year", "int32", "AñoPlantacion", optional=True,
       checks=Checks(min=1900, max=2100)),
    _f("tree_count", "int32", "Nº Arboles", optional=True, checks=Checks(min=0)),
    _f("planting_frame_h_m", "float", "Marcoplantacionh", optional=True),
    _f("planting_frame_v_m", "float", "Marcoplantacionv", optional=True),
    _f("sowing_density", "float", "Densidaddesiembra", optional=True),
    _f("atria_adv_asv", "boolean", "ATRIA / ADV / ASV", optional=True),
    _f("vulnerable_zone", "boolean", "ZonaVulnerable", optional=True),
    _f("specific_zone", "boolean", "ZonaEspecifica", optional=True),
    _f("parcel_use", "string", "UsoParcela", optional=True),
    _f("advisory", "boolean", "Asesoramiento", optional=True),
    _f("slope_pct", "float", "Pendiente %", optional=True, checks=Checks(min=0, max=100)),
    _f("uhc", "string", "UHC", optional=True),
    _f("uhc_description", "string", "Descripción UHC", optional=True),
    _f("zepa_zone", "boolean", "Zona Zepa", optional=True),
    _f("sie_zone", "boolean", "Zona SIE", optional=True),
    _f("producer_nif", "string", "ProductorNIF", optional=True, personal=True),
)  # fmt: skip

TREATMENT_FIELDS = (
    _f(ENCLOSURE_ID, "string", required=True, description="SIGPAC composite of the parts"),
    _f("harvest_year", "int32", "MovimientoCosecha", required=True),
    _f("treatment_date", "date", "MovimientoFechaDeInicio", required=True),
    _f("product", "string", "Producto", required=True),
    _f("product_name", "string", "ProductoNombre", optional=True),
    _f("formulation", "string", "Formulado", optional=True),
    _f("pest_effect_id", "string", "TratamientosPlagaEfectosEnPlagasId", optional=True),
    _f("pest_effect", "string", "EfectosEnPlagas", optional=True),
    _f("weed_id", "string", "TratamientosPlagaMalasHierbasId", optional=True),
    _f("place_name", "string", "ParcelaParaje", optional=True),
    _f("pac_crop_code", "string", "ParcelaCosechaCodigoPAC", optional=True),
    _f("pac_crop", "string", "ParcelaCosechaCultivoPAC", optional=True),
    _f("broth_l_ha", "float", "Caldo", optional=True),
    _f("dose_type_id", "string", "TipoDeDosisId", optional=True),
    _f("dose_unit", "string", "TipoDeDosisDetalle", optional=True),
    _f("treated_area_ha", "float", "MovimientoParcelaSuperficieTratada", optional=True,
       checks=AREA),
    _f("quantity", "float", "Cantidad", optional=True, checks=Checks(min=0)),
    _f("safety_period_days", "int32", "MovimientoPlazoDeSeguridad", optional=True),
    _f("dose", "float", "MovimientoDosis", checks=Checks(min=0)),
    # Areas are areas on this sheet too: the same bound as on Parcelas.
    _f("crop_area_ha", "float", "ParcelaSuperficieCultivo", optional=True, checks=AREA),
    _f("sigpac_area_ha", "float", "ParcelaSuperficieSIGPAC", optional=True, checks=AREA),
    _f("vulnerable_zone", "boolean", "ParcelaZonaVulnerable", optional=True),
    _f("parcel_use_id", "string", "UsoDeParcelasId", optional=True),
    _f("applicator_name", "string", "SecUserNombre", optional=True, personal=True),
    _f("applicator_nif", "string", "SecUserNIF", optional=True, personal=True),
    _f("applicator_id", "string", "SecUserId", optional=True, personal=True),
)  # fmt: skip


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
        error_if(invalid, ENCLOSURE_ID, "type:enclosure_id", shown),
    ]


def _with_parts(parts: Sequence[str]) -> CustomCleaning:
    def clean(table: Table, raw: pl.LazyFrame, options: CleanOptions) -> pl.LazyFrame:
        fields = visible(table.fields, options)
        lf = typed(raw, fields, parts, table.null_values).with_columns(enclosure_from_parts(parts))
        errors = [*enclosure_errors(parts), *(e for f in fields for e in field_errors(f))]
        return finish(lf, fields, errors)

    return clean


DATASET = Dataset(
    id="erp.parcels_and_treatments",
    provider="7eData",
    description="ERP export: one workbook with the sheets Parcelas and Tratamientos.",
    files=Files(formats=("xlsx", "xls"), name_pattern=r"recintos|parcel"),
    tables=(
        Table(
            name="erp.parcels",
            sheet="Parcelas",
            fields=PARCEL_FIELDS,
            key=("enclosure_id", "harvest_year"),
            partition_by=("harvest_year",),
            clean=_with_parts(PARCEL_PARTS),
            description="One row per enclosure and harvest year.",
        ),
        Table(
            name="erp.treatments",
            sheet="Tratamientos",
            fields=TREATMENT_FIELDS,
            key=("enclosure_id", "treatment_date", "product"),
            partition_by=("harvest_year",),
            required_columns=TREATMENT_PARTS,
            clean=_with_parts(TREATMENT_PARTS),
            description="Plant protection treatments: enclosure, date, product, dose.",
        ),
    ),
)
