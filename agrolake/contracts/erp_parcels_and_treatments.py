"""The 7eData ERP workbook: parcels (enclosures) and their plant protection treatments."""

from agrolake.contracts.base import DatasetContract, TableContract, TrustedTable
from agrolake.transforms import (
    PARCELS_SCHEMA,
    TREATMENTS_SCHEMA,
    clean_parcels,
    clean_treatments,
)

PARCELS = TableContract(
    sheet="Parcelas",
    required=(
        "Cosecha", "Provincia Id", "Municipio Id", "Poligono", "Parcela", "Recinto",
        "Agregado", "Zona", "SuperficieSIGPAC", "SuperficieCultivo", "Cultivo Id",
    ),
    optional=(
        "ProductorNIF", "Paraje", "OrdenPAC", "SubOrdenPac", "ParcelaVariedad Id",
        "SistemaDeRiego", "RegimenTenenciaId", "AñoPlantacion", "Nº Arboles",
        "Marcoplantacionh", "Marcoplantacionv", "Densidaddesiembra", "ATRIA / ADV / ASV",
        "ZonaVulnerable", "ZonaEspecifica", "UsoParcela", "Asesoramiento", "Pendiente %",
        "UHC", "Descripción UHC", "Zona Zepa", "Zona SIE",
    ),
)  # fmt: skip

TREATMENTS = TableContract(
    sheet="Tratamientos",
    required=(
        "MovimientoCosecha", "MovimientoFechaDeInicio", "Producto", "ParcelaProvinciaId",
        "ParcelaMunicipioId", "ParcelaPoligono", "Parcela", "ParcelaRecinto",
        "ParcelaAgregado", "ParcelaZona", "MovimientoDosis",
    ),
    optional=(
        "ProductoNombre", "Formulado", "TratamientosPlagaEfectosEnPlagasId",
        "EfectosEnPlagas", "TratamientosPlagaMalasHierbasId", "SecUserNombre", "SecUserNIF",
        "SecUserId", "ParcelaParaje", "ParcelaCosechaCodigoPAC", "ParcelaCosechaCultivoPAC",
        "Caldo", "TipoDeDosisId", "TipoDeDosisDetalle", "MovimientoParcelaSuperficieTratada",
        "Cantidad", "MovimientoPlazoDeSeguridad", "ParcelaSuperficieCultivo",
        "ParcelaSuperficieSIGPAC", "ParcelaZonaVulnerable", "UsoDeParcelasId",
    ),
)  # fmt: skip

CONTRACT = DatasetContract(
    id="erp.parcels_and_treatments",
    source="7eData",
    description="ERP export: one workbook with the sheets Parcelas and Tratamientos.",
    formats=("xlsx", "xls"),
    tables=(PARCELS, TREATMENTS),
    name_pattern=r"recintos|parcel",
    trusted=(
        TrustedTable(
            "erp.parcels",
            "Parcelas",
            clean_parcels,
            PARCELS_SCHEMA,
            key=("enclosure_id", "harvest_year"),
            partition_by=("harvest_year",),
        ),
        TrustedTable(
            "erp.treatments",
            "Tratamientos",
            clean_treatments,
            TREATMENTS_SCHEMA,
            key=("enclosure_id", "treatment_date", "product"),
            partition_by=("harvest_year",),
        ),
    ),
)
